//! Automatic onboarding over a scripted transport: what a server still on its service account
//! asks the synchronization service for when its moment in the six-hour window has come — its
//! application, its certificate, and the password-writeback roles only when writeback is on.

use std::sync::Arc;

use adsync_client::clock::FixedClock;
use adsync_client::cloud::Endpoints;
use adsync_client::config::{
    ConfigStore, ConnectorConfig, IdentityType, ServiceAccount, ServiceAccountSecret, secret_file,
};
use adsync_client::http::HttpRequest;
use adsync_client::lifecycle::scheduler::SchedulerChange;
use adsync_client::lifecycle::{ServerOptions, SyncServer};
use adsync_client::retry::{RetryPolicy, SimulatedSleeper};
use adsync_client::testing::ScriptedTransport;
use time::macros::datetime;

const TOKEN: &str =
    r#"{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0eXAiOiJKV1QifQ.e30.c2ln"}"#;
const REGISTERED: &str = r#"{"appId":"11111111-2222-3333-4444-555555555555","applicationId":"0a0a0a0a-0000-0000-0000-000000000001","servicePrincipalId":"0b0b0b0b-0000-0000-0000-000000000001","displayName":"ConnectSyncProvisioning_AZCONNECT_09e60dfc16b6","keyId":"aaaaaaaa-0000-0000-0000-000000000001"}"#;

/// The body of the registerApplication request one scheduler run sends for a 2.5.79.0 server
/// on its service account whose moment has come, with password writeback `writeback`.
async fn registration_body(writeback: bool) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let now = datetime!(2026-06-01 10:00 UTC);
    let mut config = ConnectorConfig::new(
        "AZCONNECT",
        "09e60dfc-16b6-4c1a-9d0e-5a1b2c3d4e5f",
        "2.5.79.0".parse().unwrap(),
    );
    let upn = "Sync_AZCONNECT_09e60dfc16b6@contoso.onmicrosoft.com";
    config.tenant_id = Some("contoso.onmicrosoft.com".into());
    config.password_writeback_enabled = writeback;
    config.connector_identity_type = IdentityType::ServiceAccount;
    config.service_account = Some(ServiceAccount {
        user_principal_name: upn.into(),
        object_id: None,
    });
    config.automatic_onboarding_not_before = Some(now - time::Duration::hours(1));
    ConfigStore::open(dir.path()).save(&config).unwrap();
    secret_file(dir.path())
        .save(&ServiceAccountSecret {
            user_principal_name: upn.into(),
            password: "x".into(),
        })
        .unwrap();
    let http = Arc::new(ScriptedTransport::new());
    // The sync account's token, the registration, the new credential's token.
    http.push(200, &[], TOKEN)
        .push(201, &[], REGISTERED)
        .push(200, &[], TOKEN);
    let server = SyncServer::new(ServerOptions {
        state_dir: dir.path().to_path_buf(),
        clock: Arc::new(FixedClock::new(now)),
        http: http.clone(),
        sleeper: Arc::new(SimulatedSleeper::default()),
        endpoints: Endpoints::new("https://login.example", "https://graph.example").unwrap(),
        services_url: None,
        tpm: None,
        retry: RetryPolicy::none(),
    });
    server
        .set_scheduler(&SchedulerChange {
            sync_cycle_enabled: Some(false),
            ..Default::default()
        })
        .unwrap();
    let run = server.run_scheduler_once().await.unwrap();
    assert!(
        run.automatic_onboarding
            .as_deref()
            .is_some_and(|o| o.starts_with("onboarded")),
        "{run:?}"
    );
    let requests: Vec<HttpRequest> = http.requests();
    let register = requests
        .iter()
        .find(|r| r.url.ends_with("/adsync/v1/registerApplication"))
        .expect("a registerApplication request");
    serde_json::from_slice(register.body.as_deref().unwrap()).unwrap()
}

#[tokio::test]
async fn without_password_writeback_the_writeback_roles_are_not_asked_for() {
    let body = registration_body(false).await;
    assert_eq!(body["passwordWriteback"], false, "{body}");
    assert_eq!(
        body["displayName"], "ConnectSyncProvisioning_AZCONNECT_09e60dfc16b6",
        "{body}"
    );
    assert_eq!(
        body["keyCredential"]["type"], "AsymmetricX509Cert",
        "{body}"
    );
}

#[tokio::test]
async fn with_password_writeback_they_are() {
    let body = registration_body(true).await;
    assert_eq!(body["passwordWriteback"], true, "{body}");
}
