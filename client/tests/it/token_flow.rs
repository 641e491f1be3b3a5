//! Token acquisition over a scripted HTTP transport with simulated time: the request the
//! client sends, the cache's renewal rule, bounded retries honouring Retry-After (no real
//! waiting), and AADSTS errors as typed values (an answer that is neither a token nor an OAuth
//! error has its own kind, with the raw body).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use adsync_client::assertion::AssertionAlgorithm;
use adsync_client::cert::{CertificateRequest, self_signed};
use adsync_client::clock::{Clock, FixedClock};
use adsync_client::cloud::{Cloud, Endpoints};
use adsync_client::keys::{KeyProvider, SignatureScheme, SoftwareKeyStore};
use adsync_client::retry::{RetryPolicy, SimulatedSleeper};
use adsync_client::testing::ScriptedTransport;
use adsync_client::token::{CertificateCredential, JWT_BEARER, TokenClient, TokenError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use time::macros::datetime;

const TENANT: &str = "b6f0c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d";
const GRAPH: &str = "https://graph.microsoft.com";

struct Fixture {
    _dir: tempfile::TempDir,
    http: Arc<ScriptedTransport>,
    sleeper: Arc<SimulatedSleeper>,
    clock: FixedClock,
    client: TokenClient,
    credential: CertificateCredential,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let key = SoftwareKeyStore::new(dir.path()).create_key().unwrap();
    let clock = FixedClock::new(datetime!(2026-04-01 09:00 UTC));
    let cert = self_signed(
        key.as_ref(),
        &CertificateRequest::managed(clock.now(), time::Duration::days(180)),
    )
    .unwrap();
    let http = Arc::new(ScriptedTransport::new());
    let sleeper = Arc::new(SimulatedSleeper::with_clock(clock.clone()));
    let client = TokenClient::new(
        http.clone(),
        sleeper.clone(),
        Arc::new(clock.clone()),
        Endpoints::for_cloud(Cloud::Global),
        TENANT.into(),
    );
    let credential = CertificateCredential {
        client_id: "11111111-2222-3333-4444-555555555555".into(),
        certificate: cert,
        signer: key,
        algorithm: AssertionAlgorithm::Ps256,
    };
    Fixture {
        _dir: dir,
        http,
        sleeper,
        clock,
        client,
        credential,
    }
}

fn token_body(secret: &str, expires_in: i64) -> String {
    format!(
        r#"{{"token_type":"Bearer","expires_in":{expires_in},"ext_expires_in":{expires_in},"access_token":"{secret}"}}"#
    )
}

const AADSTS700027: &str = r#"{"error":"invalid_client","error_description":"AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found.]\r\nTrace ID: 0b3c6e1a-1111-4a4a-9c9c-000000000001\r\nCorrelation ID: 5d5d5d5d-2222-4b4b-8d8d-000000000002\r\nTimestamp: 2026-04-01 09:00:00Z","error_codes":[700027],"timestamp":"2026-04-01 09:00:00Z","trace_id":"0b3c6e1a-1111-4a4a-9c9c-000000000001","correlation_id":"5d5d5d5d-2222-4b4b-8d8d-000000000002","error_uri":"https://login.microsoftonline.com/error?code=700027"}"#;

#[tokio::test]
async fn client_credentials_request_carries_a_valid_assertion_for_the_token_url() {
    let f = fixture();
    f.http.push(200, &[], &token_body("tok-1", 3599));
    let token = f.client.app_token(&f.credential, GRAPH).await.unwrap();
    assert_eq!(token.secret(), "tok-1");
    assert_eq!(
        token.expires_at(),
        f.clock.now() + time::Duration::seconds(3599)
    );
    assert!(!format!("{token:?}").contains("tok-1"));

    let requests = f.http.requests();
    assert_eq!(requests.len(), 1);
    let url = format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token");
    assert_eq!(requests[0].url, url);
    let form: std::collections::HashMap<_, _> = requests[0].form_fields().into_iter().collect();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], f.credential.client_id.as_str());
    assert_eq!(form["scope"], "https://graph.microsoft.com/.default");
    assert_eq!(form["client_assertion_type"], JWT_BEARER);

    let parts: Vec<&str> = form["client_assertion"].split('.').collect();
    let claims: serde_json::Value =
        serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["aud"], url);
    assert_eq!(claims["iss"], f.credential.client_id.as_str());
    let signature = B64URL.decode(parts[2]).unwrap();
    f.credential
        .signer
        .public_key()
        .verify(
            SignatureScheme::RsaPssSha256,
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &signature,
        )
        .unwrap();
}

#[tokio::test]
async fn cache_serves_until_five_minutes_before_expiry_and_never_after() {
    let f = fixture();
    f.http.push(200, &[], &token_body("first", 3600));
    f.http.push(200, &[], &token_body("second", 3600));
    f.http.push(200, &[], &token_body("sync", 3600));

    assert_eq!(
        f.client
            .app_token(&f.credential, GRAPH)
            .await
            .unwrap()
            .secret(),
        "first"
    );
    f.clock.advance(time::Duration::minutes(54));
    assert_eq!(
        f.client
            .app_token(&f.credential, GRAPH)
            .await
            .unwrap()
            .secret(),
        "first"
    );
    assert_eq!(f.http.requests().len(), 1);

    // 55 minutes in: five minutes left, time to renew.
    f.clock.advance(time::Duration::minutes(1));
    assert_eq!(
        f.client
            .app_token(&f.credential, GRAPH)
            .await
            .unwrap()
            .secret(),
        "second"
    );

    // Another resource has its own entry.
    let sync = f
        .client
        .app_token(&f.credential, "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016")
        .await
        .unwrap();
    assert_eq!(sync.secret(), "sync");
    assert_eq!(f.http.requests().len(), 3);

    // Long after expiry the cache must not answer: the script is empty, so a request fails.
    f.clock.advance(time::Duration::hours(3));
    let err = f.client.app_token(&f.credential, GRAPH).await.unwrap_err();
    assert!(matches!(err, TokenError::Transport(_)), "{err}");
}

// Time is paused: a real wait on tokio's timers would move tokio's clock, which is checked.
#[tokio::test(start_paused = true)]
async fn throttling_is_retried_after_retry_after_without_real_waiting() {
    let f = fixture();
    let throttled = r#"{"error":"temporarily_unavailable","error_description":"AADSTS90055: TenantThrottlingError","error_codes":[90055]}"#;
    f.http.push(429, &[("Retry-After", "7")], throttled);
    f.http.push(503, &[], "<html>Service Unavailable</html>");
    f.http.push(200, &[], &token_body("after-retries", 3599));
    let start = f.clock.now();
    let timers = tokio::time::Instant::now();
    let token = f.client.app_token(&f.credential, GRAPH).await.unwrap();
    assert_eq!(token.secret(), "after-retries");
    // 7 s as asked, then the second backoff step (1 s doubled) for the 503.
    assert_eq!(
        f.sleeper.slept(),
        vec![StdDuration::from_secs(7), StdDuration::from_secs(2)]
    );
    assert_eq!(f.clock.now() - start, time::Duration::seconds(9));
    assert_eq!(timers.elapsed(), StdDuration::ZERO, "waited on real timers");
    // The token's lifetime counts from when it arrived, on the simulated clock.
    assert_eq!(
        token.expires_at(),
        start + time::Duration::seconds(9 + 3599)
    );
}

#[tokio::test]
async fn retries_are_bounded_and_the_last_error_is_typed() {
    let f = fixture();
    let body = r#"{"error":"temporarily_unavailable","error_description":"AADSTS50196: loop","error_codes":[50196]}"#;
    for _ in 0..5 {
        f.http.push(503, &[("Retry-After", "120")], body);
    }
    let err = f.client.app_token(&f.credential, GRAPH).await.unwrap_err();
    assert_eq!(err.aadsts_code(), Some(50196));
    assert_eq!(f.http.requests().len(), 4, "one try and three retries");
    // Retry-After is capped by the policy's maximum wait.
    assert_eq!(f.sleeper.slept(), vec![StdDuration::from_secs(60); 3]);

    let g = fixture();
    let client = TokenClient::new(
        g.http.clone(),
        g.sleeper.clone(),
        Arc::new(g.clock.clone()),
        Endpoints::for_cloud(Cloud::Global),
        TENANT.into(),
    )
    .with_retry(RetryPolicy::none());
    g.http.push(503, &[], "busy");
    let err = client.app_token(&g.credential, GRAPH).await.unwrap_err();
    assert!(
        matches!(err, TokenError::Unexpected { status: 503, ref raw_body, .. } if raw_body == "busy")
    );
    assert!(g.sleeper.slept().is_empty());
}

#[tokio::test]
async fn aadsts_errors_keep_every_field_and_the_raw_body() {
    let f = fixture();
    f.http.push(401, &[], AADSTS700027);
    let err = f.client.app_token(&f.credential, GRAPH).await.unwrap_err();
    let TokenError::Aadsts(e) = &err else {
        panic!("not an AADSTS error: {err}");
    };
    assert_eq!(e.error, "invalid_client");
    assert_eq!(e.code, Some(700027));
    assert_eq!(e.status, 401);
    assert_eq!(
        e.trace_id.as_deref(),
        Some("0b3c6e1a-1111-4a4a-9c9c-000000000001")
    );
    assert_eq!(
        e.correlation_id.as_deref(),
        Some("5d5d5d5d-2222-4b4b-8d8d-000000000002")
    );
    assert!(e.description.contains("Correlation ID"));
    assert_eq!(e.raw_body, AADSTS700027);
    let shown = err.to_string();
    assert!(
        shown.starts_with("invalid_client AADSTS700027: AADSTS700027: The certificate"),
        "{shown}"
    );
    assert!(shown.ends_with("(HTTP 401)"), "{shown}");
    // 4xx answers are final: nothing retried.
    assert!(f.sleeper.slept().is_empty());
}

#[tokio::test]
async fn username_password_sign_in_posts_ropc_form() {
    let f = fixture();
    f.http.push(
        200,
        &[],
        r#"{"token_type":"Bearer","scope":"https://graph.microsoft.com/.default","expires_in":"3599","access_token":"admin-tok"}"#,
    );
    let token = f
        .client
        .password_token(
            &"14d82eec-204b-4c2f-b7e8-296a70dab67e".into(),
            "admin@contoso.onmicrosoft.com",
            "Passw0rd!",
            "https://graph.microsoft.com/.default",
        )
        .await
        .unwrap();
    assert_eq!(token.secret(), "admin-tok");
    let form: std::collections::HashMap<_, _> =
        f.http.requests()[0].form_fields().into_iter().collect();
    assert_eq!(form["grant_type"], "password");
    assert_eq!(form["username"], "admin@contoso.onmicrosoft.com");
    assert_eq!(form["password"], "Passw0rd!");
    assert_eq!(form["client_id"], "14d82eec-204b-4c2f-b7e8-296a70dab67e");
    assert!(!form.contains_key("client_assertion"));

    f.http.push(400, &[], r#"{"error":"invalid_grant","error_description":"AADSTS50126: Error validating credentials due to invalid username or password.","error_codes":[50126]}"#);
    let err = f
        .client
        .password_token(&"x".into(), "u", "bad", "openid")
        .await
        .unwrap_err();
    assert_eq!(err.aadsts_code(), Some(50126));
}

#[tokio::test]
async fn a_success_that_is_not_a_token_keeps_the_raw_answer() {
    let f = fixture();
    f.http.push(
        200,
        &[],
        r#"{"access_token":"x","token_type":"pop","expires_in":3599}"#,
    );
    let err = f.client.app_token(&f.credential, GRAPH).await.unwrap_err();
    assert!(
        matches!(&err, TokenError::NotAToken { status: 200, raw_body, .. } if raw_body.contains("\"pop\"")),
        "{err}"
    );
}
