//! The test control plane over real HTTPS: tenants from `{}` or a fixture, snapshots that
//! reload into a fresh server with the same answers, the clock, fault rules (429 with
//! Retry-After, dropped connections, latency, replication lag, count) and the request journal.

use crate::support::*;
use mock_graph::core::fixture::TenantFixture;
use serde_json::{Value, json};

#[tokio::test]
async fn tenants_from_an_empty_body_are_fresh_copies_of_the_default() {
    let env = Env::start().await;
    let a = env
        .call("POST", "/_mock/tenants", None, Some(json!({})))
        .await;
    let b = env
        .call("POST", "/_mock/tenants", None, Some(json!({})))
        .await;
    let (a, b) = (a.assert_status(201).clone(), b.assert_status(201).clone());
    assert_ne!(a["id"], b["id"]);
    let domain = a["domain"].as_str().unwrap();
    assert!(
        domain.ends_with(".onmicrosoft.com") && domain != "contoso.onmicrosoft.com",
        "{domain}"
    );
    // The new tenant's admin signs in under the new domain.
    let tid = a["id"].as_str().unwrap();
    let form = [
        ("grant_type", "password"),
        ("client_id", GRAPH_CLI),
        ("username", &format!("admin@{domain}")),
        ("password", PASSWORD),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let resp = env
        .http
        .post(format!("{}/{tid}/oauth2/v2.0/token", env.server.url))
        .form(&form)
        .send()
        .await
        .unwrap();
    let token: Value = resp.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap();
    assert_eq!(claims(token)["tid"], tid);
    let org = env
        .call("GET", "/v1.0/organization", Some(token), None)
        .await;
    assert_eq!(org.assert_status(200)["value"][0]["id"], tid);

    let bad: Vec<(Value, &str)> = vec![
        (json!({"tenant": {"id": "nope"}}), "UUID"),
        (json!({"usres": []}), "usres"),
        (json!([]), "fixture"),
    ];
    for (body, words) in bad {
        let a = env
            .call("POST", "/_mock/tenants", None, Some(body.clone()))
            .await;
        assert_eq!(a.status, 400, "{body}");
        assert!(
            a.body["error"].as_str().unwrap().contains(words),
            "{body}: {:#}",
            a.body
        );
    }
    let resp = env
        .http
        .post(format!("{}/_mock/tenants", env.server.url))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    // The default tenant again: its names are taken.
    let again = serde_json::to_value(TenantFixture::default_fixture()).unwrap();
    assert_eq!(
        env.call("POST", "/_mock/tenants", None, Some(again))
            .await
            .status,
        409
    );
}

#[tokio::test]
async fn a_snapshot_reloads_with_the_same_answers() {
    let env = Env::start().await;
    let tid = env.server.tenant_id.to_string();
    let admin = env.user_token("admin").await;
    let cert = TestCert::new("snap");
    let app = env.register_app("snapshotted", &cert);
    env.server.with_tenant(|t| {
        t.assign_app_role(
            app.service_principal_id,
            SYNC_SERVICE.parse().unwrap(),
            "ADSynchronization.ReadWrite.All",
        )
    });
    let snapshot = env
        .call("GET", &format!("/_mock/tenants/{tid}/snapshot"), None, None)
        .await
        .assert_status(200)
        .clone();

    let fresh = Env::with(TenantFixture::from_json(&snapshot.to_string()).unwrap()).await;
    for path in [
        format!(
            "/v1.0/applications(appId='{}')?$select=id,appId,displayName,keyCredentials",
            app.app_id
        ),
        format!(
            "/v1.0/servicePrincipals/{}/appRoleAssignments",
            app.service_principal_id
        ),
        "/v1.0/users?$select=id,userPrincipalName".to_string(),
    ] {
        // The same token works on both: the signing key is part of the snapshot.
        let one = env.call("GET", &path, Some(&admin), None).await;
        let two = fresh.call("GET", &path, Some(&admin), None).await;
        let strip = |v: &Value| {
            let mut v = v.clone();
            v.as_object_mut().unwrap().remove("@odata.context");
            v
        };
        assert_eq!(
            strip(one.assert_status(200)),
            strip(two.assert_status(200)),
            "{path}"
        );
    }
    let token = fresh
        .app_token(&app.app_id.to_string(), &cert, SYNC_SERVICE)
        .await;
    assert_eq!(
        claims(&token)["roles"],
        json!(["ADSynchronization.ReadWrite.All"])
    );

    // PUT puts a snapshot back in place.
    env.call(
        "DELETE",
        &format!("/v1.0/applications(appId='{}')", app.app_id),
        Some(&admin),
        None,
    )
    .await
    .assert_status(204);
    env.call(
        "PUT",
        &format!("/_mock/tenants/{tid}/snapshot"),
        None,
        Some(snapshot.clone()),
    )
    .await
    .assert_status(204);
    env.call(
        "GET",
        &format!("/v1.0/applications(appId='{}')", app.app_id),
        Some(&admin),
        None,
    )
    .await
    .assert_status(200);
    let mut other = snapshot.clone();
    other["tenant"]["id"] = json!("0e000000-0000-4000-8000-000000000000");
    assert_eq!(
        env.call(
            "PUT",
            &format!("/_mock/tenants/{tid}/snapshot"),
            None,
            Some(other)
        )
        .await
        .status,
        400
    );
    assert_eq!(
        env.call(
            "GET",
            "/_mock/tenants/0e000000-0000-4000-8000-000000000000/snapshot",
            None,
            None
        )
        .await
        .status,
        404
    );
    for (method, what) in [
        ("GET", "faults"),
        ("DELETE", "faults"),
        ("GET", "requests"),
        ("DELETE", "requests"),
    ] {
        for (tenant, status) in [
            ("0e000000-0000-4000-8000-000000000000", 404),
            ("not-a-guid", 400),
        ] {
            let path = format!("/_mock/tenants/{tenant}/{what}");
            assert_eq!(
                env.call(method, &path, None, None).await.status,
                status,
                "{method} {path}"
            );
        }
    }
}

#[tokio::test]
async fn the_clock() {
    let env = Env::start().await;
    let tid = env.server.tenant_id;
    let path = format!("/_mock/tenants/{tid}/clock");
    let set = env
        .call(
            "POST",
            &path,
            None,
            Some(json!({"set": "2030-01-01T00:00:00Z"})),
        )
        .await;
    let now = set.assert_status(200)["now"].as_str().unwrap().to_string();
    assert!(now.starts_with("2030-01-01T00:00"), "{now}");
    let moved = env
        .call("POST", &path, None, Some(json!({"advance_seconds": 86400})))
        .await;
    assert!(
        moved.assert_status(200)["now"]
            .as_str()
            .unwrap()
            .starts_with("2030-01-02")
    );
    assert!(
        env.call("GET", &path, None, None).await.assert_status(200)["now"]
            .as_str()
            .unwrap()
            .starts_with("2030-01-02")
    );
    for bad in [
        json!({}),
        json!({"advance_seconds": 1, "set": "2030-01-01T00:00:00Z"}),
        json!({"set": "tomorrow"}),
        json!({"advance": 1}),
    ] {
        assert_eq!(
            env.call("POST", &path, None, Some(bad.clone()))
                .await
                .status,
            400,
            "{bad}"
        );
    }
}

async fn add_fault(env: &Env, rule: Value) -> String {
    let tid = env.server.tenant_id;
    let a = env
        .call(
            "POST",
            &format!("/_mock/tenants/{tid}/faults"),
            None,
            Some(rule),
        )
        .await;
    a.assert_status(201)["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn throttling_faults_answer_in_each_service_format() {
    let env = Env::start().await;
    let tid = env.server.tenant_id;
    let admin = env.user_token("admin").await;
    let graph_rule = add_fault(&env, json!({"match": {"operation": "applications.list"}, "status": 429, "retry_after": 7, "count": 1})).await;
    let a = env
        .call("GET", "/v1.0/applications", Some(&admin), None)
        .await;
    a.assert_error(429, "TooManyRequests");
    assert_eq!(a.header("retry-after"), Some("7"));
    env.call("GET", "/v1.0/applications", Some(&admin), None)
        .await
        .assert_status(200);

    add_fault(&env, json!({"match": {"method": "POST", "path": "/*/oauth2/v2.0/token"}, "status": 503, "error": "temporarily_unavailable", "retry_after": 3, "count": 2})).await;
    for _ in 0..2 {
        let resp = env
            .http
            .post(env.server.token_url_v2())
            .form(&[("grant_type", "client_credentials"), ("client_id", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 503);
        assert_eq!(resp.headers()["retry-after"], "3");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "temporarily_unavailable");
    }
    let listed = env
        .call("GET", &format!("/_mock/tenants/{tid}/faults"), None, None)
        .await;
    let rules = listed.assert_status(200)["value"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0]["id"], graph_rule);
    assert_eq!(rules[0]["remaining"], 0);
    env.call(
        "DELETE",
        &format!("/_mock/tenants/{tid}/faults"),
        None,
        None,
    )
    .await
    .assert_status(204);
    let listed = env
        .call("GET", &format!("/_mock/tenants/{tid}/faults"), None, None)
        .await;
    assert_eq!(listed.assert_status(200)["value"], json!([]));

    let bad = env
        .call(
            "POST",
            &format!("/_mock/tenants/{tid}/faults"),
            None,
            Some(json!({"match": {"operation": "appKey"}, "status": 500})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body["error"]
            .as_str()
            .unwrap()
            .contains("unknown operation `appKey`")
    );
}

#[tokio::test]
async fn dropped_connections_and_latency() {
    let env = Env::start().await;
    let admin = env.user_token("admin").await;
    let rule = add_fault(
        &env,
        json!({"match": {"operation": "organization.get"}, "drop_connection": true, "count": 1}),
    )
    .await;
    let dropped = env
        .http
        .get(format!("{}/v1.0/organization", env.server.url))
        .bearer_auth(&admin)
        .send()
        .await;
    let err = dropped.expect_err("a dropped connection gives no answer");
    assert!(
        err.is_request() && !err.is_connect() && !err.is_timeout(),
        "connected, sent, and then no answer: {err:?}"
    );
    // Dropped by the rule, as the journal says (not refused for another reason).
    let tid = env.server.tenant_id;
    let journal = env
        .call("GET", &format!("/_mock/tenants/{tid}/requests"), None, None)
        .await;
    let last = journal.assert_status(200)["value"]
        .as_array()
        .and_then(|v| v.last())
        .cloned()
        .expect("a journal entry");
    assert_eq!(last["operation"], "organization.get", "{last}");
    assert_eq!(last["status"], Value::Null, "{last}");
    assert_eq!(last["fault"], json!(rule), "{last}");
    env.call("GET", "/v1.0/organization", Some(&admin), None)
        .await
        .assert_status(200);

    add_fault(
        &env,
        json!({"match": {"operation": "discovery"}, "delay_ms": 300, "count": 1}),
    )
    .await;
    let started = std::time::Instant::now();
    let resp = env
        .http
        .get(format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            env.server.url, env.server.tenant_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
}

#[tokio::test]
async fn replication_lag_holds_writes_back_until_the_clock_moves() {
    let env = Env::start().await;
    let tid = env.server.tenant_id;
    let clock = format!("/_mock/tenants/{tid}/clock");
    let old = TestCert::new("old");
    let app = env.register_app("lagged", &old);
    let app_id = app.app_id.to_string();
    let token = env.app_token(&app_id, &old, GRAPH).await;

    // A new key is not accepted yet.
    add_fault(
        &env,
        json!({"match": {"operation": "addKey"}, "lag_seconds": 60}),
    )
    .await;
    let new = TestCert::new("new");
    let body = json!({"keyCredential": new.key_credential(), "proof": old.proof(&app.application_id.to_string(), env.now())});
    let added = env
        .call(
            "POST",
            &format!("/v1.0/applications/{}/addKey", app.application_id),
            Some(&token),
            Some(body),
        )
        .await;
    let new_key_id = added.assert_status(200)["keyId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_key_not_found(&env.app_token_answer(&app_id, &new, GRAPH).await);
    let admin = env.user_token("admin").await;
    let seen = env
        .call(
            "GET",
            &format!("/v1.0/applications/{}", app.application_id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        seen.assert_status(200)["keyCredentials"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    env.call("POST", &clock, None, Some(json!({"advance_seconds": 59})))
        .await
        .assert_status(200);
    assert_key_not_found(&env.app_token_answer(&app_id, &new, GRAPH).await);
    env.call("POST", &clock, None, Some(json!({"advance_seconds": 1})))
        .await
        .assert_status(200);
    env.app_token(&app_id, &new, GRAPH).await;

    // A removed key still works for a while.
    add_fault(
        &env,
        json!({"match": {"operation": "removeKey"}, "lag_seconds": 30}),
    )
    .await;
    let old_key_id = env.server.with_tenant(|t| {
        t.directory
            .application_by_app_id(app.app_id)
            .unwrap()
            .key_credentials
            .iter()
            .find(|k| k.key_id.to_string() != new_key_id)
            .unwrap()
            .key_id
            .to_string()
    });
    let token = env.app_token(&app_id, &new, GRAPH).await;
    let body = json!({"keyId": old_key_id, "proof": new.proof(&app.application_id.to_string(), env.now())});
    env.call(
        "POST",
        &format!("/v1.0/applications/{}/removeKey", app.application_id),
        Some(&token),
        Some(body),
    )
    .await
    .assert_status(204);
    env.app_token(&app_id, &old, GRAPH).await;
    env.call("POST", &clock, None, Some(json!({"advance_seconds": 30})))
        .await
        .assert_status(200);
    assert_key_not_found(&env.app_token_answer(&app_id, &old, GRAPH).await);

    // A new account cannot sign in yet.
    add_fault(
        &env,
        json!({"match": {"operation": "users.create"}, "lag_seconds": 900}),
    )
    .await;
    let hybrid = env.user_token("hybridadmin").await;
    let upn = format!("Sync_LAG_0123456789ab@{}", env.domain());
    let user = json!({"accountEnabled": true, "displayName": "Sync", "mailNickname": "Sync_LAG", "userPrincipalName": upn, "passwordProfile": {"password": "Xk9#long-and-complex"}});
    env.call("POST", "/v1.0/users", Some(&hybrid), Some(user))
        .await
        .assert_status(201);
    let form = [
        ("grant_type", "password"),
        ("client_id", GRAPH_CLI),
        ("username", upn.as_str()),
        ("password", "Xk9#long-and-complex"),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let refused: Value = env
        .http
        .post(env.server.token_url_v2())
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["error_codes"], json!([50034]));
    env.call("POST", &clock, None, Some(json!({"advance_seconds": 900})))
        .await
        .assert_status(200);
    env.user_token_with(
        &upn,
        "Xk9#long-and-complex",
        "https://graph.microsoft.com/.default",
    )
    .await;
}

#[tokio::test]
async fn the_journal_records_every_request() {
    let env = Env::start().await;
    let tid = env.server.tenant_id;
    let admin = env.user_token("admin").await;
    let rule = add_fault(
        &env,
        json!({"match": {"path": "/v1.0/servicePrincipals*"}, "status": 500, "count": 1}),
    )
    .await;
    env.call("GET", "/v1.0/servicePrincipals", Some(&admin), None)
        .await
        .assert_error(500, "InternalServerError");
    env.call(
        "GET",
        "/v1.0/applications/00000000-0000-4000-8000-00000000dead",
        Some(&admin),
        None,
    )
    .await
    .assert_error(404, "Request_ResourceNotFound");
    let cert = TestCert::new("journal");
    let app = env.register_app("journal", &cert);
    env.app_token(&app.app_id.to_string(), &cert, GRAPH).await;
    let stranger = TestCert::new("stranger");
    env.app_token_answer(&app.app_id.to_string(), &stranger, GRAPH)
        .await;

    let journal = env
        .call("GET", &format!("/_mock/tenants/{tid}/requests"), None, None)
        .await;
    let entries = journal.assert_status(200)["value"]
        .as_array()
        .unwrap()
        .clone();
    let pick = |e: &Value| {
        (
            e["operation"].clone(),
            e["status"].clone(),
            e["error_code"].clone(),
            e["fault"].clone(),
        )
    };
    let got: Vec<_> = entries.iter().map(pick).collect();
    let expected = vec![
        (json!("token"), json!(200), Value::Null, Value::Null),
        (
            json!("servicePrincipals.list"),
            json!(500),
            json!("InternalServerError"),
            json!(rule),
        ),
        (
            json!("applications.get"),
            json!(404),
            json!("Request_ResourceNotFound"),
            Value::Null,
        ),
        (json!("token"), json!(200), Value::Null, Value::Null),
        (json!("token"), json!(401), json!("700027"), Value::Null),
    ];
    assert_eq!(got, expected, "{entries:#?}");
    let first = &entries[0];
    assert_eq!(first["method"], "POST");
    assert_eq!(first["path"], format!("/{tid}/oauth2/v2.0/token"));
    assert_eq!(first["client_id"], GRAPH_CLI);
    assert_eq!(entries[1]["client_id"], GRAPH_CLI);
    assert_eq!(entries[4]["client_id"], app.app_id.to_string());
    assert!(first["time"].as_str().unwrap().contains('T'));
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "time",
            "method",
            "path",
            "operation",
            "status",
            "error_code",
            "client_id",
            "fault"
        ]
    );
}

/// AADSTS700027 because no credential of the application has the certificate (a key outside
/// its window gives the same code with another reason).
fn assert_key_not_found(answer: &Value) {
    assert_eq!(answer["error_codes"], json!([700027]), "{answer}");
    assert!(
        answer["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("The key was not found."),
        "{answer}"
    );
}
