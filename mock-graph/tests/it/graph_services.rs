//! The first-party service models (SERVICES.md) over real HTTPS: the synchronization service
//! (export, status, automatic onboarding's registerApplication) and the password-writeback
//! service, each gated on its role.

use crate::support::*;
use mock_graph::core::directory::{PasswordProfile, RoleAssignment, User};
use mock_graph::core::ids::ObjectId;
use serde_json::json;

const DSA: &str = "d29b2b05-8046-44ba-8758-1e26182fcf32";

fn add_sync_account(env: &Env) -> String {
    let upn = format!("Sync_SERVER01_0123456789ab@{}", env.domain());
    env.server.with_tenant(|t| {
        let id = ObjectId::new_random();
        t.directory.users.push(User {
            id,
            user_principal_name: upn.clone(),
            display_name: "On-Premises Directory Synchronization Service Account".into(),
            mail_nickname: None,
            account_enabled: true,
            password_profile: PasswordProfile {
                password: PASSWORD.into(),
                force_change_password_next_sign_in: false,
            },
            created_date_time: None,
            on_premises_immutable_id: None,
            on_premises_sync_enabled: None,
            kept: Default::default(),
        });
        t.directory.role_assignments.push(RoleAssignment {
            id: "dsa".into(),
            principal_id: id,
            role_definition_id: DSA.parse().unwrap(),
            directory_scope_id: "/".into(),
        });
    });
    upn
}

#[tokio::test]
async fn the_synchronization_service_exports_for_the_sync_role() {
    let env = Env::start().await;
    let cert = TestCert::new("sync");
    let app = env.register_app("ConnectSyncProvisioning_SERVER01_0123456789ab", &cert);
    let app_id = app.app_id.to_string();
    let batch = json!({"objects": [{"sourceAnchor": "AAECAwQ=", "userPrincipalName": format!("alice@{}", env.domain()), "displayName": "Alice"}]});

    let no_role = env.app_token(&app_id, &cert, SYNC_SERVICE).await;
    env.call(
        "POST",
        "/adsync/v1/export",
        Some(&no_role),
        Some(batch.clone()),
    )
    .await
    .assert_error(403, "Authorization_RequestDenied");
    let graph_token = env.app_token(&app_id, &cert, GRAPH).await;
    env.call(
        "POST",
        "/adsync/v1/export",
        Some(&graph_token),
        Some(batch.clone()),
    )
    .await
    .assert_error(401, "InvalidAuthenticationToken");
    env.call("POST", "/adsync/v1/export", None, Some(batch.clone()))
        .await
        .assert_error(401, "InvalidAuthenticationToken");

    env.server.with_tenant(|t| {
        t.assign_app_role(
            app.service_principal_id,
            SYNC_SERVICE.parse().unwrap(),
            "ADSynchronization.ReadWrite.All",
        )
    });
    let token = env.app_token(&app_id, &cert, SYNC_SERVICE).await;
    let done = env
        .call("POST", "/adsync/v1/export", Some(&token), Some(batch))
        .await;
    assert_eq!(done.assert_status(200)["exported"], 1);
    env.call("POST", "/adsync/v1/export", Some(&token), Some(json!({"objects": [{"sourceAnchor": "x", "userPrincipalName": "bob@fabrikam.com", "displayName": "Bob"}]})))
        .await
        .assert_error(400, "Request_BadRequest");
    let status = env
        .call("GET", "/adsync/v1/status", Some(&token), None)
        .await;
    assert_eq!(status.assert_status(200)["onPremisesSyncEnabled"], true);

    let admin = env.user_token("admin").await;
    let alice = env
        .call(
            "GET",
            &format!("/v1.0/users/alice@{}", env.domain()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        alice.assert_status(200)["onPremisesImmutableId"],
        "AAECAwQ="
    );
    let org = env
        .call("GET", "/v1.0/organization", Some(&admin), None)
        .await;
    assert_eq!(
        org.assert_status(200)["value"][0]["onPremisesSyncEnabled"],
        true
    );
    let removed = env
        .call(
            "POST",
            "/adsync/v1/export",
            Some(&token),
            Some(json!({"deletions": ["AAECAwQ="]})),
        )
        .await;
    assert_eq!(removed.assert_status(200)["deleted"], 1);
}

#[tokio::test]
async fn automatic_onboarding_registers_the_application_for_the_sync_account() {
    let env = Env::start().await;
    let upn = add_sync_account(&env);
    let sync_account = env
        .user_token_for(&upn, &format!("{SYNC_SERVICE}/.default"))
        .await;
    let cert = TestCert::new("Entra Connect Sync Provisioning");
    let body = json!({"displayName": "ConnectSyncProvisioning_SERVER01_0123456789ab", "keyCredential": cert.key_credential()});

    // Only the sync account onboards; a Global Administrator's token is refused.
    let admin = env
        .user_token_for("admin", &format!("{SYNC_SERVICE}/.default"))
        .await;
    env.call(
        "POST",
        "/adsync/v1/registerApplication",
        Some(&admin),
        Some(body.clone()),
    )
    .await
    .assert_error(403, "Authorization_RequestDenied");

    let created = env
        .call(
            "POST",
            "/adsync/v1/registerApplication",
            Some(&sync_account),
            Some(body.clone()),
        )
        .await;
    let created = created.assert_status(201).clone();
    let app_id = created["appId"].as_str().unwrap().to_string();
    let token = env.app_token(&app_id, &cert, SYNC_SERVICE).await;
    assert_eq!(
        claims(&token)["roles"],
        json!(["ADSynchronization.ReadWrite.All"])
    );
    let writeback = env.app_token(&app_id, &cert, PASSWORD_RESET).await;
    assert_eq!(claims(&writeback)["roles"].as_array().unwrap().len(), 3);
    // A retry finds the same application and does not add the certificate twice.
    let again = env
        .call(
            "POST",
            "/adsync/v1/registerApplication",
            Some(&sync_account),
            Some(body),
        )
        .await;
    assert_eq!(again.assert_status(200)["appId"], app_id);
    assert_eq!(again.body["keyId"], created["keyId"]);
    let bad = json!({"displayName": "x", "keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": "AAAA"}});
    env.call(
        "POST",
        "/adsync/v1/registerApplication",
        Some(&sync_account),
        Some(bad),
    )
    .await
    .assert_error(400, "Request_BadRequest");
    // The sync account may export too.
    env.call("GET", "/adsync/v1/status", Some(&sync_account), None)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn password_writeback_calls_are_gated_on_their_roles() {
    let env = Env::start().await;
    let cert = TestCert::new("writeback");
    let app = env.register_app("writeback", &cert);
    let app_id = app.app_id.to_string();
    let pwr = PASSWORD_RESET.parse().unwrap();
    env.server.with_tenant(|t| {
        t.assign_app_role(
            app.service_principal_id,
            pwr,
            "PasswordWriteback.RegisterClientVersion.All",
        )
    });
    let token = env.app_token(&app_id, &cert, PASSWORD_RESET).await;
    env.call(
        "POST",
        "/passwordwriteback/v1/registerClientVersion",
        Some(&token),
        Some(json!({"clientVersion": "latest"})),
    )
    .await
    .assert_error(400, "Request_BadRequest");
    let registered = env
        .call(
            "POST",
            "/passwordwriteback/v1/registerClientVersion",
            Some(&token),
            Some(json!({"clientVersion": "2.5.79.0"})),
        )
        .await;
    assert_eq!(registered.assert_status(200)["clientVersion"], "2.5.79.0");
    env.call("POST", "/passwordwriteback/v1/refresh", Some(&token), None)
        .await
        .assert_error(403, "Authorization_RequestDenied");
    env.call("POST", "/passwordwriteback/v1/offboard", Some(&token), None)
        .await
        .assert_error(403, "Authorization_RequestDenied");

    env.server.with_tenant(|t| {
        t.assign_app_role(
            app.service_principal_id,
            pwr,
            "PasswordWriteback.RefreshClient.All",
        );
        t.assign_app_role(
            app.service_principal_id,
            pwr,
            "PasswordWriteback.OffboardClient.All",
        );
    });
    let token = env.app_token(&app_id, &cert, PASSWORD_RESET).await;
    let refreshed = env
        .call("POST", "/passwordwriteback/v1/refresh", Some(&token), None)
        .await;
    assert!(refreshed.assert_status(200)["lastRefreshDateTime"].is_string());
    env.call("GET", "/passwordwriteback/v1/client", Some(&token), None)
        .await
        .assert_status(200);
    env.call("POST", "/passwordwriteback/v1/offboard", Some(&token), None)
        .await
        .assert_status(204);
    env.call("POST", "/passwordwriteback/v1/refresh", Some(&token), None)
        .await
        .assert_error(404, "Request_ResourceNotFound");
    env.call("GET", "/passwordwriteback/v1/client", Some(&token), None)
        .await
        .assert_error(404, "Request_ResourceNotFound");
}
