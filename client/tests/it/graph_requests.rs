//! The Graph client over a scripted transport: URLs (object id and appId alternate key),
//! bodies (PATCH keyCredentials, addKey with a proof that verifies, app role assignment),
//! paging, throttling retries, and Graph errors as typed values (an unreadable success, a
//! server that never stops paging and an empty organization list each have their own kind).

use std::sync::Arc;

use adsync_client::cert::{CertificateRequest, self_signed};
use adsync_client::clock::{Clock, FixedClock};
use adsync_client::cloud::{Cloud, Endpoints};
use adsync_client::graph::{GraphClient, GraphError, KeyCredential, ObjectRef, StaticToken};
use adsync_client::keys::{SignatureScheme, Signer, SoftwareKeyStore};
use adsync_client::retry::SimulatedSleeper;
use adsync_client::testing::ScriptedTransport;
use adsync_client::token::AccessToken;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use time::macros::datetime;

fn client() -> (Arc<ScriptedTransport>, Arc<SimulatedSleeper>, GraphClient) {
    let http = Arc::new(ScriptedTransport::new());
    let sleeper = Arc::new(SimulatedSleeper::default());
    let token = AccessToken::new("graph-token", datetime!(2030-01-01 0:00 UTC));
    let client = GraphClient::new(
        http.clone(),
        sleeper.clone(),
        Endpoints::for_cloud(Cloud::Global),
        Arc::new(StaticToken(token)),
    );
    (http, sleeper, client)
}

fn body_json(req: &adsync_client::http::HttpRequest) -> serde_json::Value {
    serde_json::from_slice(req.body.as_deref().unwrap()).unwrap()
}

const APP: &str = r#"{"id":"0a0a0a0a-0000-0000-0000-000000000001","appId":"11111111-2222-3333-4444-555555555555","displayName":"ConnectSyncProvisioning_SRV_0123456789ab","keyCredentials":[{"keyId":"aaaaaaaa-0000-0000-0000-000000000001","type":"AsymmetricX509Cert","usage":"Verify","key":null,"displayName":"CN=Entra Connect Sync Provisioning","startDateTime":"2026-01-01T00:00:00Z","endDateTime":"2026-07-01T00:00:00Z"}]}"#;

#[tokio::test]
async fn application_by_app_id_uses_the_alternate_key_and_bearer_token() {
    let (http, _, graph) = client();
    http.push(200, &[], APP);
    let app = graph
        .get_application(&ObjectRef::AppId(
            "11111111-2222-3333-4444-555555555555".into(),
        ))
        .await
        .unwrap();
    assert_eq!(app.id.as_str(), "0a0a0a0a-0000-0000-0000-000000000001");
    assert_eq!(app.key_credentials.len(), 1);
    assert_eq!(
        app.key_credentials[0].end_date_time,
        Some(datetime!(2026-07-01 0:00 UTC))
    );
    let req = &http.requests()[0];
    assert_eq!(req.method, reqwest::Method::GET);
    assert_eq!(
        req.url,
        "https://graph.microsoft.com/v1.0/applications(appId='11111111-2222-3333-4444-555555555555')"
    );
    assert_eq!(
        req.header_value("authorization"),
        Some("Bearer graph-token")
    );
    assert!(req.header_value("client-request-id").is_some());
}

#[tokio::test]
async fn add_key_posts_the_new_certificate_with_a_verifiable_proof() {
    let (http, _, graph) = client();
    let dir = tempfile::tempdir().unwrap();
    let keys = SoftwareKeyStore::new(dir.path());
    let clock = FixedClock::new(datetime!(2026-06-01 10:00 UTC));
    let current_key = keys.create().unwrap();
    let current = self_signed(
        &current_key,
        &CertificateRequest::managed(clock.now(), time::Duration::days(30)),
    )
    .unwrap();
    let next_key = keys.create().unwrap();
    let next = self_signed(
        &next_key,
        &CertificateRequest::managed(clock.now(), time::Duration::days(180)),
    )
    .unwrap();
    http.push(200, &[], r#"{"keyId":"bbbbbbbb-0000-0000-0000-000000000002","type":"AsymmetricX509Cert","usage":"Verify","key":null}"#);

    let app_id = "0a0a0a0a-0000-0000-0000-000000000001".into();
    let added = graph
        .add_key_with_proof(&app_id, &next, &current, &current_key, &clock)
        .await
        .unwrap();
    assert_eq!(
        added.key_id.unwrap().as_str(),
        "bbbbbbbb-0000-0000-0000-000000000002"
    );

    let req = &http.requests()[0];
    assert_eq!(
        req.url,
        "https://graph.microsoft.com/v1.0/applications/0a0a0a0a-0000-0000-0000-000000000001/addKey"
    );
    let body = body_json(req);
    assert_eq!(body["passwordCredential"], serde_json::Value::Null);
    assert_eq!(body["keyCredential"]["type"], "AsymmetricX509Cert");
    assert_eq!(body["keyCredential"]["usage"], "Verify");
    assert_eq!(
        body["keyCredential"]["displayName"],
        "CN=Entra Connect Sync Provisioning"
    );
    assert_eq!(
        body["keyCredential"]["key"],
        base64::engine::general_purpose::STANDARD.encode(next.der())
    );
    let proof = body["proof"].as_str().unwrap();
    let parts: Vec<&str> = proof.split('.').collect();
    let claims: serde_json::Value =
        serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["aud"], "00000002-0000-0000-c000-000000000000");
    assert_eq!(claims["iss"], "0a0a0a0a-0000-0000-0000-000000000001");
    current_key
        .public_key()
        .verify(
            SignatureScheme::RsaPkcs1Sha256,
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &B64URL.decode(parts[2]).unwrap(),
        )
        .unwrap();
}

#[tokio::test]
async fn patch_key_credentials_and_remove_key_bodies() {
    let (http, _, graph) = client();
    http.push(204, &[], "");
    http.push(204, &[], "");
    let existing: KeyCredential = serde_json::from_str(
        r#"{"keyId":"aaaaaaaa-0000-0000-0000-000000000001","type":"AsymmetricX509Cert","usage":"Verify","key":null}"#,
    )
    .unwrap();
    let app = ObjectRef::Id("app-obj".into());
    graph.set_key_credentials(&app, &[existing]).await.unwrap();
    graph
        .remove_key(
            &app,
            &"aaaaaaaa-0000-0000-0000-000000000001".into(),
            "proof.jwt.sig",
        )
        .await
        .unwrap();
    let reqs = http.requests();
    assert_eq!(reqs[0].method, reqwest::Method::PATCH);
    assert_eq!(
        body_json(&reqs[0]),
        serde_json::json!({"keyCredentials":[{"keyId":"aaaaaaaa-0000-0000-0000-000000000001","type":"AsymmetricX509Cert","usage":"Verify","key":null}]})
    );
    assert!(reqs[1].url.ends_with("/applications/app-obj/removeKey"));
    assert_eq!(
        body_json(&reqs[1]),
        serde_json::json!({"keyId":"aaaaaaaa-0000-0000-0000-000000000001","proof":"proof.jwt.sig"})
    );
}

#[tokio::test]
async fn lists_follow_next_links_and_encode_filters() {
    let (http, _, graph) = client();
    http.push(200, &[], r#"{"value":[{"id":"sp1","appId":"a1"}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/servicePrincipals?$skiptoken=X"}"#);
    http.push(200, &[], r#"{"value":[{"id":"sp2","appId":"a2","appRoles":[{"id":"r1","value":"ADSynchronization.ReadWrite.All","allowedMemberTypes":["Application"]}]}]}"#);
    let sps = graph
        .list_service_principals(Some("appId eq '6bf85cfa-ac8a-4be5-b5de-425a0d0dc016'"))
        .await
        .unwrap();
    assert_eq!(sps.len(), 2);
    assert_eq!(
        sps[1].app_roles[0].value.as_deref(),
        Some("ADSynchronization.ReadWrite.All")
    );
    let reqs = http.requests();
    assert_eq!(
        reqs[0].url,
        "https://graph.microsoft.com/v1.0/servicePrincipals?%24filter=appId+eq+%276bf85cfa-ac8a-4be5-b5de-425a0d0dc016%27"
    );
    assert_eq!(
        reqs[1].url,
        "https://graph.microsoft.com/v1.0/servicePrincipals?$skiptoken=X"
    );
}

#[tokio::test]
async fn app_role_assignment_and_role_membership_requests() {
    let (http, _, graph) = client();
    http.push(201, &[], r#"{"id":"asg1","principalId":"p1","resourceId":"r1","appRoleId":"role1","principalType":"ServicePrincipal"}"#);
    http.push(204, &[], "");
    let asg = graph
        .assign_app_role(&"p1".into(), &"r1".into(), "role1")
        .await
        .unwrap();
    assert_eq!(asg.id, "asg1");
    graph
        .add_directory_role_member(&"role9".into(), &"user1".into())
        .await
        .unwrap();
    let reqs = http.requests();
    assert_eq!(
        reqs[0].url,
        "https://graph.microsoft.com/v1.0/servicePrincipals/p1/appRoleAssignments"
    );
    assert_eq!(
        body_json(&reqs[0]),
        serde_json::json!({"principalId":"p1","resourceId":"r1","appRoleId":"role1"})
    );
    assert_eq!(
        reqs[1].url,
        "https://graph.microsoft.com/v1.0/directoryRoles/role9/members/$ref"
    );
    assert_eq!(
        body_json(&reqs[1]),
        serde_json::json!({"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/user1"})
    );
}

#[tokio::test]
async fn graph_errors_are_typed_and_throttling_is_retried() {
    let (http, sleeper, graph) = client();
    let throttled = r#"{"error":{"code":"TooManyRequests","message":"Your request is throttled temporarily. Please try after 3 seconds."}}"#;
    http.push(429, &[("Retry-After", "3")], throttled);
    let proof_err = r#"{"error":{"code":"Authentication_MissingOrMalformed","message":"Access Token missing or malformed.","innerError":{"date":"2026-06-01T10:00:00","request-id":"req-123","client-request-id":"cli-456"}}}"#;
    http.push(401, &[("request-id", "req-123")], proof_err);
    let err = graph
        .remove_key(&ObjectRef::Id("o".into()), &"k".into(), "bad")
        .await
        .unwrap_err();
    assert_eq!(sleeper.slept(), vec![std::time::Duration::from_secs(3)]);
    let GraphError::Service(e) = &err else {
        panic!("{err}")
    };
    assert_eq!(e.status, 401);
    assert_eq!(e.code, "Authentication_MissingOrMalformed");
    assert_eq!(e.message, "Access Token missing or malformed.");
    assert_eq!(e.request_id.as_deref(), Some("req-123"));
    assert_eq!(e.client_request_id.as_deref(), Some("cli-456"));
    assert_eq!(e.raw_body, proof_err);
    assert_eq!(err.code(), Some("Authentication_MissingOrMalformed"));

    http.push(
        404,
        &[("request-id", "req-9")],
        r#"{"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist."}}"#,
    );
    let err = graph.get_user("x").await.unwrap_err();
    let GraphError::Service(e) = &err else {
        panic!("{err}")
    };
    assert_eq!(
        e.request_id.as_deref(),
        Some("req-9"),
        "falls back to the header"
    );

    http.push(502, &[], "<html>bad gateway</html>");
    let graph = graph.with_retry(adsync_client::retry::RetryPolicy::none());
    let err = graph.list_directory_roles().await.unwrap_err();
    assert!(
        matches!(err, GraphError::Unexpected { status: 502, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn unreadable_answers_and_local_failures_have_their_own_kinds() {
    // A success whose body is not what the call returns: the server's answer, kept raw.
    let (http, _, graph) = client();
    http.push(200, &[], "{\"id\": 7");
    let err = graph.get_user("x").await.unwrap_err();
    assert!(
        matches!(&err, GraphError::Decode { status: 200, raw_body, .. } if raw_body == "{\"id\": 7"),
        "{err}"
    );

    // A server that never stops paging.
    let (http, _, graph) = client();
    let endless = r#"{"value":[],"@odata.nextLink":"https://graph.microsoft.com/v1.0/users?$skiptoken=again"}"#;
    for _ in 0..adsync_client::graph::paging::MAX_PAGES {
        http.push(200, &[], endless);
    }
    let err = graph.list_users(None).await.unwrap_err();
    assert!(
        matches!(&err, GraphError::TooManyPages { path, pages } if path == "users" && *pages == adsync_client::graph::paging::MAX_PAGES),
        "{err}"
    );

    // No organization in the answer.
    let (http, _, graph) = client();
    http.push(200, &[], r#"{"value":[]}"#);
    let err = graph.get_organization().await.unwrap_err();
    assert!(matches!(err, GraphError::NoOrganization), "{err}");
}
