//! The login side through real HTTPS: discovery documents, JWKS, and the claims of issued
//! tokens checked against the published keys with an independent JWT library. The rule table
//! (every AADSTS refusal) is exercised by `features/token_endpoint.feature`.

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use mock_graph::core::ids::{AppId, ObjectId};
use mock_graph::testing::{Alg, TestCertificate, TestServer};
use serde_json::{Value, json};
use time::Duration;

const SYNC_SERVICE: &str = "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016";
const GRAPH_CLI: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
const DOMAIN: &str = "contoso.onmicrosoft.com";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn client(server: &TestServer) -> reqwest::Client {
    let ca = server.ca_pem_text().expect("TLS test server has a CA");
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .build()
        .unwrap()
}

async fn get_json(http: &reqwest::Client, url: &str) -> (u16, Value) {
    let resp = http.get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn post_form(http: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = http.post(url).form(form).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// Decodes `token` with the key the tenant's JWKS publishes under its `kid`.
async fn verify_with_jwks(
    http: &reqwest::Client,
    server: &TestServer,
    token: &str,
    audience: &str,
) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let (_, jwks) = get_json(
        http,
        &format!("{}/{}/discovery/v2.0/keys", server.url, server.tenant_id),
    )
    .await;
    let kid = header.kid.expect("tokens carry a kid");
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("kid is published");
    assert_eq!(jwk["x5t"], jwk["kid"], "Entra publishes kid = x5t");
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[format!("https://sts.windows.net/{}/", server.tenant_id)]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("token verifies against the JWKS")
        .claims
}

struct App {
    app_id: AppId,
    sp_id: ObjectId,
    cert: TestCertificate,
}

fn register_app(server: &TestServer) -> App {
    let now = server.with_tenant(|t| t.now());
    let (start, end) = (now - Duration::days(1), now + Duration::days(365));
    let cert = TestCertificate::generate(start, end).unwrap();
    let registered = server.with_tenant(|t| {
        let r = t.register_application("Test sync app");
        t.add_certificate(r.application_id, &cert.der, start, end)
            .unwrap();
        r
    });
    App {
        app_id: registered.app_id,
        sp_id: registered.service_principal_id,
        cert,
    }
}

fn assertion_form<'a>(
    app_id: &'a str,
    scope_name: &'a str,
    scope: &'a str,
    assertion: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", app_id),
        (scope_name, scope),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ]
}

#[tokio::test]
async fn app_token_v2_has_entra_claims_and_verifies_against_jwks() {
    let server = TestServer::start().await.unwrap();
    let http = client(&server);
    let app = register_app(&server);
    server.with_tenant(|t| {
        t.assign_app_role(
            app.sp_id,
            SYNC_SERVICE.parse().unwrap(),
            "ADSynchronization.ReadWrite.All",
        )
        .unwrap()
    });
    // Frozen, so the token's times can be predicted to the second.
    let now = server.with_tenant(|t| {
        t.clock = mock_graph::core::clock::VirtualClock::frozen(t.now());
        t.now()
    });
    let app_id = app.app_id.to_string();
    let assertion = app
        .cert
        .assertion(&app_id, &server.token_url_v2(), now, Alg::Ps256);
    let scope = format!("{SYNC_SERVICE}/.default");
    let (status, body) = post_form(
        &http,
        &server.token_url_v2(),
        &assertion_form(&app_id, "scope", &scope, &assertion),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    let claims = verify_with_jwks(
        &http,
        &server,
        body["access_token"].as_str().unwrap(),
        SYNC_SERVICE,
    )
    .await;
    assert_eq!(claims["appid"], app_id);
    assert_eq!(claims["appidacr"], "2");
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["oid"], app.sp_id.to_string());
    assert_eq!(claims["sub"], app.sp_id.to_string());
    assert_eq!(claims["tid"], server.tenant_id.to_string());
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["roles"], json!(["ADSynchronization.ReadWrite.All"]));
    let t = now.unix_timestamp();
    assert_eq!(claims["nbf"], t - 300, "nbf is back-dated five minutes");
    assert_eq!(claims["iat"], t - 300);
    assert_eq!(claims["exp"], t + 3599);
}

#[tokio::test]
async fn v1_endpoint_answers_in_v1_shape_and_by_domain() {
    let server = TestServer::start().await.unwrap();
    let http = client(&server);
    let app = register_app(&server);
    let url = format!("{}/{DOMAIN}/oauth2/token", server.url);
    let now = server.with_tenant(|t| t.now());
    let app_id = app.app_id.to_string();
    let assertion = app.cert.assertion(&app_id, &url, now, Alg::Rs256);
    let (status, body) = post_form(
        &http,
        &url,
        &assertion_form(
            &app_id,
            "resource",
            "https://graph.microsoft.com",
            &assertion,
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // v1 answers carry numbers as strings.
    assert_eq!(body["expires_in"], "3599");
    assert_eq!(body["resource"], "https://graph.microsoft.com");
    let expires_on: i64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    let not_before: i64 = body["not_before"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_on - not_before, 3599 + 300);
    let token = body["access_token"].as_str().unwrap();
    let claims = verify_with_jwks(&http, &server, token, "https://graph.microsoft.com").await;
    assert!(
        claims.get("roles").is_none(),
        "no role was assigned: {claims}"
    );
}

#[tokio::test]
async fn password_grant_gives_delegated_token_with_scp_and_wids() {
    let server = TestServer::start().await.unwrap();
    let http = client(&server);
    let (status, body) = post_form(
        &http,
        &server.token_url_v2(),
        &[
            ("grant_type", "password"),
            ("client_id", GRAPH_CLI),
            ("username", "hybridadmin@contoso.onmicrosoft.com"),
            ("password", "Passw0rd!"),
            (
                "scope",
                "https://graph.microsoft.com/.default openid profile offline_access",
            ),
            ("client_info", "1"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for field in ["refresh_token", "id_token", "client_info", "scope"] {
        assert!(
            body.get(field).is_some(),
            "ROPC answers carry {field}: {body}"
        );
    }
    let token = body["access_token"].as_str().unwrap();
    let claims = verify_with_jwks(&http, &server, token, "https://graph.microsoft.com").await;
    assert_eq!(claims["idtyp"], "user");
    assert_eq!(claims["upn"], "hybridadmin@contoso.onmicrosoft.com");
    assert_eq!(claims["appidacr"], "0");
    assert_eq!(
        claims["wids"],
        json!(["8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2"])
    );
    let scp: HashSet<&str> = claims["scp"].as_str().unwrap().split(' ').collect();
    assert!(scp.contains("Application.ReadWrite.All"), "{scp:?}");
}

#[tokio::test]
async fn discovery_documents_name_the_host_the_request_came_to() {
    let server = TestServer::start().await.unwrap();
    let http = client(&server);
    let (url, tid) = (&server.url, server.tenant_id.to_string());
    let (status, v2) = get_json(
        &http,
        &format!("{url}/{DOMAIN}/v2.0/.well-known/openid-configuration"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        v2["token_endpoint"],
        format!("{url}/{tid}/oauth2/v2.0/token")
    );
    assert_eq!(v2["issuer"], format!("{url}/{tid}/v2.0"));
    assert_eq!(v2["jwks_uri"], format!("{url}/{tid}/discovery/v2.0/keys"));
    assert_eq!(
        v2["authorization_endpoint"],
        format!("{url}/{tid}/oauth2/v2.0/authorize")
    );
    let (_, v1) = get_json(
        &http,
        &format!("{url}/{tid}/.well-known/openid-configuration"),
    )
    .await;
    assert_eq!(v1["token_endpoint"], format!("{url}/{tid}/oauth2/token"));
    assert_eq!(v1["issuer"], format!("https://sts.windows.net/{tid}/"));

    let discovery = format!(
        "{url}/common/discovery/instance?api-version=1.1&authorization_endpoint={url}/{tid}/oauth2/v2.0/authorize"
    );
    let (status, instance) = get_json(&http, &discovery).await;
    assert_eq!(status, 200);
    assert_eq!(
        instance["tenant_discovery_endpoint"],
        format!("{url}/{tid}/v2.0/.well-known/openid-configuration")
    );

    let unknown_tenant =
        format!("{url}/fabrikam.onmicrosoft.com/v2.0/.well-known/openid-configuration");
    let (status, unknown) = get_json(&http, &unknown_tenant).await;
    assert_eq!(status, 400);
    assert_eq!(unknown["error"], "invalid_tenant");
    assert_eq!(unknown["error_codes"], json!([90002]));

    let (_, realm) = get_json(
        &http,
        &format!("{url}/common/userrealm/admin@{DOMAIN}?api-version=1.0"),
    )
    .await;
    assert_eq!(realm["account_type"], "Managed");
    let (_, realm) = get_json(
        &http,
        &format!("{url}/common/userrealm/someone@example.org?api-version=1.0"),
    )
    .await;
    assert_eq!(realm["account_type"], "Unknown");

    let (status, jwks) = get_json(&http, &format!("{url}/common/discovery/keys")).await;
    assert_eq!(status, 200);
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn errors_echo_the_client_request_id_and_use_entra_timestamps() {
    let server = TestServer::start().await.unwrap();
    let http = client(&server);
    let correlation = "5548f94f-47d1-4945-af31-36b1837edc4e";
    let resp = http
        .post(format!(
            "{}?client-request-id={correlation}",
            server.token_url_v2()
        ))
        .header(
            "content-type",
            "application/x-www-form-urlencoded;charset=utf-8",
        )
        .body("grant_type=client_credentials&client_id=not-an-app&scope=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["correlation_id"], correlation);
    let ts = body["timestamp"].as_str().unwrap();
    assert_eq!(ts.len(), "2026-11-25 08:47:58Z".len(), "{ts}");
    assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b' ', "{ts}");
    let desc = body["error_description"].as_str().unwrap();
    assert!(desc.starts_with("AADSTS7000216: "), "{desc}");
    assert!(
        desc.contains(&format!("\r\nCorrelation ID: {correlation}\r\n")),
        "{desc}"
    );
}

#[tokio::test]
async fn the_tenant_clock_decides_key_validity() {
    let server = TestServer::start().await.unwrap();
    let http = client(&server);
    let app = register_app(&server);
    // Frozen, so the time the error carries is exactly the one read here, whatever the
    // wall clock does in between.
    server.with_tenant(|t| {
        t.clock = mock_graph::core::clock::VirtualClock::frozen(t.now());
        t.advance_clock(Duration::days(366));
    });
    let later = server.with_tenant(|t| t.now());
    let app_id = app.app_id.to_string();
    // RS256 names the key by SHA-1 (`x5t`), which is what the message then prints.
    let assertion = app
        .cert
        .assertion(&app_id, &server.token_url_v2(), later, Alg::Rs256);
    let form = assertion_form(
        &app_id,
        "scope",
        "https://graph.microsoft.com/.default",
        &assertion,
    );
    let (status, body) = post_form(&http, &server.token_url_v2(), &form).await;
    assert_eq!(status, 401);
    assert_eq!(body["error_codes"], json!([700027]));
    assert_eq!(
        body["timestamp"],
        later
            .format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]Z"
            ))
            .unwrap(),
        "errors carry the tenant's time"
    );
    let description = body["error_description"].as_str().unwrap();
    assert!(description.contains("The key used is expired."), "{body}");
    assert!(
        description.contains(&app.cert.sha1_hex()),
        "names the thumbprint: {body}"
    );
}
