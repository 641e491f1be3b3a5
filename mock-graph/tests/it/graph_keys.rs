//! addKey and removeKey with the proof of possession: a successful rotation by the app itself
//! (no Graph permission needed), key lookup by x5t, x5t#S256 and kid, every way a proof can be
//! wrong (401 Authentication_MissingOrMalformed), an object without a valid certificate, and the
//! Application Administrator adding a credential to the sync application.

use crate::support::*;
use serde_json::{Value, json};
use time::Duration;

#[tokio::test]
async fn an_application_rolls_its_own_key() {
    let env = Env::start().await;
    let old = TestCert::new("CN=Entra Connect Sync Provisioning");
    let app = env.register_app("ConnectSyncProvisioning_SERVER_0123456789ab", &old);
    let app_id = app.app_id.to_string();
    // The app's own Graph token carries no Graph role at all.
    let token = env.app_token(&app_id, &old, GRAPH).await;
    assert!(claims(&token).get("roles").is_none());

    let new = TestCert::new("CN=Entra Connect Sync Provisioning");
    let proof = old.proof(&app.application_id.to_string(), env.now());
    let body =
        json!({"keyCredential": new.key_credential(), "passwordCredential": null, "proof": proof});
    let added = env
        .call(
            "POST",
            &format!("/v1.0/applications(appId='{app_id}')/addKey"),
            Some(&token),
            Some(body),
        )
        .await;
    let added = added.assert_status(200).clone();
    assert!(
        added["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#microsoft.graph.keyCredential")
    );
    assert_eq!(added["type"], "AsymmetricX509Cert");
    let new_key_id = added["keyId"].as_str().unwrap().to_string();

    // The new certificate works at once; the old one is removed with a proof from the new one.
    let token = env.app_token(&app_id, &new, GRAPH).await;
    let old_key_id = env.server.with_tenant(|t| {
        let a = t.directory.application_by_app_id(app.app_id).unwrap();
        a.key_credentials
            .iter()
            .find(|k| k.key_id.to_string() != new_key_id)
            .unwrap()
            .key_id
            .to_string()
    });
    let proof = new.proof(&app.application_id.to_string(), env.now());
    env.call(
        "POST",
        &format!("/v1.0/applications/{}/removeKey", app.application_id),
        Some(&token),
        Some(json!({"keyId": old_key_id, "proof": proof})),
    )
    .await
    .assert_status(204);
    let refused = env.app_token_answer(&app_id, &old, GRAPH).await;
    assert_eq!(refused["error_codes"], json!([700027]));
    // Gone, not merely outside its window (also 700027).
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("The key was not found."),
        "{refused}"
    );
    let proof = new.proof(&app.application_id.to_string(), env.now());
    env.call(
        "POST",
        &format!("/v1.0/applications/{}/removeKey", app.application_id),
        Some(&token),
        Some(json!({"keyId": old_key_id, "proof": proof})),
    )
    .await
    .assert_error(404, "Request_ResourceNotFound");
}

#[tokio::test]
async fn proofs_are_checked() {
    let env = Env::start().await;
    let cert = TestCert::new("owner");
    let app = env.register_app("proofs", &cert);
    let token = env.app_token(&app.app_id.to_string(), &cert, GRAPH).await;
    let oid = app.application_id.to_string();
    let now = env.now().unix_timestamp();
    let stranger = TestCert::new("stranger");
    let proof = |header: Value, claims: Value| cert.jwt(header, claims);
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t": cert.x5t()});
    let claims_ok = json!({"aud": "00000002-0000-0000-c000-000000000000", "iss": oid, "nbf": now, "exp": now + 600});
    let with = |k: &str, v: Value| {
        let mut c = claims_ok.clone();
        c[k] = v;
        c
    };
    let good_by = |h: Value| proof(h, claims_ok.clone());
    // Accepted: the certificate named by x5t, x5t#S256 or kid (hex thumbprint).
    let accepted = [
        good_by(header.clone()),
        good_by(json!({"alg": "RS256", "x5t#S256": cert.x5t_s256()})),
        good_by(json!({"alg": "RS256", "kid": cert.sha1_hex()})),
    ];
    for p in accepted {
        let new = TestCert::new("new");
        let body =
            json!({"keyCredential": new.key_credential(), "passwordCredential": null, "proof": p});
        env.call(
            "POST",
            &format!("/v1.0/applications/{oid}/addKey"),
            Some(&token),
            Some(body),
        )
        .await
        .assert_status(200);
    }
    let mut padded = good_by(header.clone());
    padded.insert(padded.find('.').unwrap(), '=');
    let refused = vec![
        ("missing", String::new()),
        ("not a jwt", "abc".to_string()),
        ("padding", padded),
        (
            "graph audience",
            proof(header.clone(), with("aud", json!(GRAPH))),
        ),
        (
            "appId as iss",
            proof(header.clone(), with("iss", json!(app.app_id.to_string()))),
        ),
        (
            "lifetime over 10 minutes",
            proof(header.clone(), with("exp", json!(now + 601))),
        ),
        (
            "expired",
            proof(
                header.clone(),
                json!({"aud": "00000002-0000-0000-c000-000000000000", "iss": oid, "nbf": now - 7200, "exp": now - 6600}),
            ),
        ),
        (
            "no nbf",
            proof(
                header.clone(),
                json!({"aud": "00000002-0000-0000-c000-000000000000", "iss": oid, "exp": now + 600}),
            ),
        ),
        (
            "ISO dates",
            proof(header.clone(), with("exp", json!("2030-01-01T00:00:00Z"))),
        ),
        (
            "unknown key",
            stranger.jwt(
                json!({"alg": "RS256", "x5t": stranger.x5t()}),
                claims_ok.clone(),
            ),
        ),
        (
            "wrong signer",
            stranger.jwt(header.clone(), claims_ok.clone()),
        ),
        (
            "no key named",
            proof(json!({"alg": "RS256"}), claims_ok.clone()),
        ),
        (
            "HS256",
            proof(
                json!({"alg": "HS256", "x5t": cert.x5t()}),
                claims_ok.clone(),
            ),
        ),
    ];
    for (why, p) in refused {
        let new = TestCert::new("new");
        let body =
            json!({"keyCredential": new.key_credential(), "passwordCredential": null, "proof": p});
        let a = env
            .call(
                "POST",
                &format!("/v1.0/applications/{oid}/addKey"),
                Some(&token),
                Some(body),
            )
            .await;
        assert_eq!(
            (a.status, a.code()),
            (401, "Authentication_MissingOrMalformed"),
            "{why}: {:#}",
            a.body
        );
        assert_eq!(
            a.body["error"]["message"], "Access Token missing or malformed.",
            "{why}"
        );
    }
    // A good proof with a bad key credential is a 400.
    let body = json!({"keyCredential": {"type": "AsymmetricX509Cert", "usage": "Sign", "key": cert.key_b64()}, "proof": good_by(header.clone())});
    env.call(
        "POST",
        &format!("/v1.0/applications/{oid}/addKey"),
        Some(&token),
        Some(body),
    )
    .await
    .assert_error(400, "Request_BadRequest");
    // removeKey with an unknown or malformed keyId.
    env.call(
        "POST",
        &format!("/v1.0/applications/{oid}/removeKey"),
        Some(&token),
        Some(json!({"keyId": "nope", "proof": good_by(header.clone())})),
    )
    .await
    .assert_error(400, "Request_BadRequest");
    // Another application cannot roll this one's keys without permission, even with a good proof.
    let other_cert = TestCert::new("other");
    let other = env.register_app("other", &other_cert);
    let other_token = env
        .app_token(&other.app_id.to_string(), &other_cert, GRAPH)
        .await;
    let body = json!({"keyCredential": TestCert::new("x").key_credential(), "proof": good_by(header.clone())});
    env.call(
        "POST",
        &format!("/v1.0/applications/{oid}/addKey"),
        Some(&other_token),
        Some(body),
    )
    .await
    .assert_error(403, "Authorization_RequestDenied");
}

#[tokio::test]
async fn an_object_without_a_valid_certificate_cannot_use_add_key() {
    let env = Env::start().await;
    let cert = TestCert::new("expiring");
    let app = env.register_app("expiring", &cert);
    let token = env.app_token(&app.app_id.to_string(), &cert, GRAPH).await;
    // Every certificate of the app has expired (token still valid for the caller: the admin).
    env.server
        .with_tenant(|t| t.advance_clock(Duration::days(301)));
    let admin = env.user_token("admin").await;
    let proof = cert.proof(&app.application_id.to_string(), env.now());
    let body = json!({"keyCredential": TestCert::new("new").key_credential(), "passwordCredential": null, "proof": proof});
    env.call(
        "POST",
        &format!("/v1.0/applications/{}/addKey", app.application_id),
        Some(&admin),
        Some(body),
    )
    .await
    .assert_error(401, "Authentication_MissingOrMalformed");
    // The app's own token has expired with the clock too.
    env.call("GET", "/v1.0/applications", Some(&token), None)
        .await
        .assert_error(401, "InvalidAuthenticationToken");
    // PATCH is the way out, as Graph documents.
    let patch = json!({"keyCredentials": [TestCert::new("fresh").key_credential()]});
    env.call(
        "PATCH",
        &format!("/v1.0/applications/{}", app.application_id),
        Some(&admin),
        Some(patch),
    )
    .await
    .assert_status(204);
}

#[tokio::test]
async fn service_principals_roll_keys_too() {
    let env = Env::start().await;
    let cert = TestCert::new("sp");
    let app = env.register_app("sp-keys", &cert);
    let admin = env.user_token("admin").await;
    let sp = app.service_principal_id.to_string();
    // The service principal has no certificate yet: addKey is refused, PATCH works.
    let body = json!({"keyCredential": cert.key_credential(), "proof": cert.proof(&sp, env.now())});
    env.call(
        "POST",
        &format!("/v1.0/servicePrincipals/{sp}/addKey"),
        Some(&admin),
        Some(body.clone()),
    )
    .await
    .assert_error(401, "Authentication_MissingOrMalformed");
    env.call(
        "PATCH",
        &format!("/v1.0/servicePrincipals/{sp}"),
        Some(&admin),
        Some(json!({"keyCredentials": [cert.key_credential()]})),
    )
    .await
    .assert_status(204);
    let new = TestCert::new("sp2");
    let body = json!({"keyCredential": new.key_credential(), "proof": cert.proof(&sp, env.now())});
    env.call(
        "POST",
        &format!("/v1.0/servicePrincipals(appId='{}')/addKey", app.app_id),
        Some(&admin),
        Some(body),
    )
    .await
    .assert_status(200);
    let got = env
        .call(
            "GET",
            &format!("/v1.0/servicePrincipals/{sp}?$select=keyCredentials"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        got.assert_status(200)["keyCredentials"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn an_application_administrator_can_add_a_credential_to_the_sync_app() {
    // What the Connect Sync documentation warns about: the Application Administrator can add a
    // certificate to the sync application with PATCH, then act as it.
    let env = Env::start().await;
    let sync_cert = TestCert::new("CN=Entra Connect Sync Provisioning");
    let sync_app = env.register_app("ConnectSyncProvisioning_SERVER_0123456789ab", &sync_cert);
    env.server.with_tenant(|t| {
        t.assign_app_role(
            sync_app.service_principal_id,
            SYNC_SERVICE.parse().unwrap(),
            "ADSynchronization.ReadWrite.All",
        )
    });
    let appadmin = env.user_token("appadmin").await;
    let path = format!("/v1.0/applications(appId='{}')", sync_app.app_id);
    let current = env.call("GET", &path, Some(&appadmin), None).await;
    let existing = current.assert_status(200)["keyCredentials"][0].clone();
    let intruder = TestCert::new("CN=intruder");
    let patch = json!({"keyCredentials": [existing, intruder.key_credential()]});
    env.call("PATCH", &path, Some(&appadmin), Some(patch))
        .await
        .assert_status(204);
    let token = env
        .app_token(&sync_app.app_id.to_string(), &intruder, SYNC_SERVICE)
        .await;
    assert_eq!(
        claims(&token)["roles"],
        json!(["ADSynchronization.ReadWrite.All"])
    );
    // The ordinary user cannot.
    let user = env.user_token("user").await;
    env.call(
        "PATCH",
        &path,
        Some(&user),
        Some(json!({"keyCredentials": []})),
    )
    .await
    .assert_error(403, "Authorization_RequestDenied");
}
