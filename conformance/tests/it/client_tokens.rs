//! The real client against the mock over real HTTPS: PS256 and RS256 client assertions from
//! software and swtpm keys get tokens; a wrong key, a wrong audience and an expired
//! certificate credential get Entra's typed AADSTS errors.

use std::sync::Arc;

use adsync_client::assertion::{AssertionAlgorithm, client_assertion};
use adsync_client::cert::{Certificate, CertificateRequest, self_signed};
use adsync_client::clock::FixedClock;
use adsync_client::cloud::Endpoints;
use adsync_client::http::{HttpRequest, HttpTransport, ReqwestTransport};
use adsync_client::keys::{KeyProvider, Signer, SoftwareKeyStore, Tpm};
use adsync_client::retry::{RetryPolicy, SimulatedSleeper};
use adsync_client::token::{
    CertificateCredential, JWT_BEARER, TokenClient, TokenError, parse_token_response,
};
use mock_graph::core::operation::Operation;
use mock_graph::testing::TestServer;

const GRAPH: &str = "https://graph.microsoft.com";

struct Setup {
    server: TestServer,
    clock: FixedClock,
    client: TokenClient,
    transport: Arc<ReqwestTransport>,
}

async fn setup() -> Setup {
    let server = TestServer::start().await.expect("mock starts");
    let ca = std::fs::read(server.ca_pem.as_ref().expect("TLS")).unwrap();
    let transport = Arc::new(ReqwestTransport::new(Some(&ca)).unwrap());
    let clock = FixedClock::new(server.with_tenant(|t| t.now()));
    let endpoints = Endpoints::new(&server.url, &server.url)
        .unwrap()
        .with_graph_resource(GRAPH);
    let client = TokenClient::new(
        transport.clone(),
        Arc::new(SimulatedSleeper::default()),
        Arc::new(clock.clone()),
        endpoints,
        server.tenant_id.to_string().as_str().into(),
    )
    .with_retry(RetryPolicy::none());
    Setup {
        server,
        clock,
        client,
        transport,
    }
}

/// Registers an application with `cert` valid over the certificate's own validity.
fn register(
    server: &TestServer,
    cert: &Certificate,
    valid: Option<(time::OffsetDateTime, time::OffsetDateTime)>,
) -> String {
    let info = cert.info().unwrap();
    let (start, end) = valid.unwrap_or((info.not_before, info.not_after));
    server.with_tenant(|t| {
        let app = t.register_application("ConnectSyncProvisioning_TEST");
        t.add_certificate(app.application_id, cert.der(), start, end)
            .expect("certificate added");
        app.app_id.to_string()
    })
}

fn credential(
    client_id: &str,
    cert: &Certificate,
    signer: Arc<dyn Signer>,
    algorithm: AssertionAlgorithm,
) -> CertificateCredential {
    CertificateCredential {
        client_id: client_id.into(),
        certificate: cert.clone(),
        signer,
        algorithm,
    }
}

fn managed_cert(signer: &dyn Signer, clock: &FixedClock) -> Certificate {
    use adsync_client::clock::Clock;
    self_signed(
        signer,
        &CertificateRequest::managed(
            clock.now() - time::Duration::hours(1),
            time::Duration::days(180),
        ),
    )
    .unwrap()
}

#[tokio::test]
async fn software_key_gets_tokens_with_ps256_and_rs256() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let key = SoftwareKeyStore::new(dir.path()).create_key().unwrap();
    let cert = managed_cert(key.as_ref(), &s.clock);
    let app_id = register(&s.server, &cert, None);
    for alg in [AssertionAlgorithm::Ps256, AssertionAlgorithm::Rs256] {
        let token = s
            .client
            .request_app_token(&credential(&app_id, &cert, key.clone(), alg), GRAPH)
            .await
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert!(!token.secret().is_empty());
    }
}

#[tokio::test]
async fn swtpm_key_gets_tokens_with_ps256_and_rs256() {
    if !prerequisites::swtpm("client_tokens::swtpm_key_gets_tokens_with_ps256_and_rs256") {
        return;
    }
    let s = setup().await;
    let sw = swtpm::Swtpm::start().unwrap();
    let tpm = Tpm::connect(&sw.tcti()).unwrap();
    let key = tpm.create_key().unwrap();
    let cert = managed_cert(key.as_ref(), &s.clock);
    let app_id = register(&s.server, &cert, None);
    for alg in [AssertionAlgorithm::Ps256, AssertionAlgorithm::Rs256] {
        s.client
            .request_app_token(&credential(&app_id, &cert, key.clone(), alg), GRAPH)
            .await
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
    }
}

#[tokio::test]
async fn wrong_key_is_aadsts700027() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let store = SoftwareKeyStore::new(dir.path());
    let key = store.create_key().unwrap();
    let other = store.create_key().unwrap();
    let cert = managed_cert(key.as_ref(), &s.clock);
    let app_id = register(&s.server, &cert, None);
    let err = s
        .client
        .request_app_token(
            &credential(&app_id, &cert, other, AssertionAlgorithm::Ps256),
            GRAPH,
        )
        .await
        .unwrap_err();
    let TokenError::Aadsts(e) = &err else {
        panic!("{err}")
    };
    assert_eq!(e.code, Some(700027), "{err}");
    assert_eq!(e.error, "invalid_client");
    assert_eq!(e.status, 401);
    assert!(e.raw_body.contains("700027"));
    // The certificate is registered: the key was found and the signature failed (a key that
    // was not found, also 700027, would be another defect).
    assert!(
        e.raw_body
            .contains("Key was found, but use of the key to verify the signature failed."),
        "{}",
        e.raw_body
    );
}

#[tokio::test]
async fn wrong_audience_is_aadsts700023() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let key = SoftwareKeyStore::new(dir.path()).create_key().unwrap();
    let cert = managed_cert(key.as_ref(), &s.clock);
    let app_id = register(&s.server, &cert, None);
    let assertion = client_assertion(
        key.as_ref(),
        &cert,
        &app_id.as_str().into(),
        "https://login.example.invalid/other/oauth2/v2.0/token",
        AssertionAlgorithm::Ps256,
        &s.clock,
    )
    .unwrap();
    let request = HttpRequest::new(reqwest::Method::POST, s.client.token_url()).form(&[
        ("client_id", app_id.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", &assertion),
        ("grant_type", "client_credentials"),
    ]);
    let response = s.transport.send(request).await.unwrap();
    let err = parse_token_response(&response, s.server.with_tenant(|t| t.now())).unwrap_err();
    assert_eq!(err.aadsts_code(), Some(700023), "{err}");
}

#[tokio::test]
async fn expired_certificate_credential_is_aadsts700027() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let key = SoftwareKeyStore::new(dir.path()).create_key().unwrap();
    let cert = managed_cert(key.as_ref(), &s.clock);
    let now = s.server.with_tenant(|t| t.now());
    let app_id = register(
        &s.server,
        &cert,
        Some((
            now - time::Duration::days(30),
            now - time::Duration::days(1),
        )),
    );
    let err = s
        .client
        .request_app_token(
            &credential(&app_id, &cert, key, AssertionAlgorithm::Ps256),
            GRAPH,
        )
        .await
        .unwrap_err();
    assert_eq!(err.aadsts_code(), Some(700027), "{err}");
    let TokenError::Aadsts(e) = &err else {
        panic!("{err}")
    };
    // Found, but outside its window (not "not found", which is also 700027).
    assert!(
        e.raw_body.contains("The key used is expired."),
        "{}",
        e.raw_body
    );
}

/// The token requests the tenant answered, as (status, fault rule id).
fn token_requests(server: &TestServer) -> Vec<(Option<u16>, Option<String>)> {
    server.with_tenant(|t| {
        t.controls
            .journal
            .entries()
            .into_iter()
            .filter(|e| e.operation == Some(Operation::Token))
            .map(|e| (e.status, e.fault))
            .collect()
    })
}

/// Throttling and an outage injected in the mock, waited out on simulated time; then the
/// cache: served while fresh, renewed before expiry, never served once expired.
#[tokio::test]
async fn retries_and_cache_against_mock_faults_on_simulated_time() {
    use adsync_client::clock::Clock;
    use mock_graph::core::faults::FaultSpec;

    let server = TestServer::start().await.expect("mock starts");
    let ca = std::fs::read(server.ca_pem.as_ref().expect("TLS")).unwrap();
    let clock = FixedClock::new(server.with_tenant(|t| t.now()));
    let sleeper = Arc::new(SimulatedSleeper::with_clock(clock.clone()));
    let client = TokenClient::new(
        Arc::new(ReqwestTransport::new(Some(&ca)).unwrap()),
        sleeper.clone(),
        Arc::new(clock.clone()),
        Endpoints::new(&server.url, &server.url)
            .unwrap()
            .with_graph_resource(GRAPH),
        server.tenant_id.to_string().as_str().into(),
    );
    let dir = tempfile::tempdir().unwrap();
    let key = SoftwareKeyStore::new(dir.path()).create_key().unwrap();
    let cert = managed_cert(key.as_ref(), &clock);
    let app_id = register(&server, &cert, None);
    let cred = credential(&app_id, &cert, key, AssertionAlgorithm::Ps256);
    let fault = |json: &str| {
        server.with_tenant(|t| {
            t.controls
                .faults
                .add(FaultSpec::from_json(json.as_bytes()).unwrap())
                .unwrap()
        })
    };
    let throttled = fault(
        r#"{"match": {"operation": "token"}, "status": 429, "error": "temporarily_unavailable", "retry_after": 7, "count": 1}"#,
    );
    let outage = fault(r#"{"match": {"operation": "token"}, "status": 503, "count": 1}"#);

    let first = client
        .app_token(&cred, GRAPH)
        .await
        .expect("a token after two retries");
    assert_eq!(
        sleeper.slept()[0],
        std::time::Duration::from_secs(7),
        "Retry-After honoured"
    );
    assert_eq!(
        sleeper.slept().len(),
        2,
        "one wait per refusal: {:?}",
        sleeper.slept()
    );
    assert_eq!(
        token_requests(&server),
        vec![
            (Some(429), Some(throttled)),
            (Some(503), Some(outage)),
            (Some(200), None)
        ]
    );

    // The client's and the tenant's clocks move together, as time does.
    let advance = |by: time::Duration| {
        clock.advance(by);
        server.with_tenant(|t| t.advance_clock(by));
    };

    // Fresh: served from the cache, no request.
    advance(time::Duration::minutes(30));
    let cached = client.app_token(&cred, GRAPH).await.unwrap();
    assert_eq!(cached.secret(), first.secret());
    assert_eq!(token_requests(&server).len(), 3);

    // Within five minutes of expiry: renewed.
    advance(time::Duration::minutes(26));
    let renewed = client.app_token(&cred, GRAPH).await.unwrap();
    assert_ne!(renewed.secret(), first.secret());
    assert_eq!(token_requests(&server).len(), 4);

    // Expired and the service down for good: an error, never the stale token.
    advance(time::Duration::hours(2));
    fault(r#"{"match": {"operation": "token"}, "status": 503}"#);
    let err = client
        .app_token(&cred, GRAPH)
        .await
        .expect_err("no stale token");
    match &err {
        TokenError::Aadsts(e) => assert_eq!(e.status, 503, "{err}"),
        other => panic!("expected the service's 503 answer, got {other}"),
    }
    assert_eq!(
        sleeper.slept().len(),
        2 + 3,
        "three bounded retries: {:?}",
        sleeper.slept()
    );
    assert!(
        renewed.expires_at() < clock.now(),
        "the cached token had expired"
    );
}
