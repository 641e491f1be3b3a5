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
}
