//! Microsoft Graph over real HTTPS: the BYOA sequence verbatim, CRUD of applications and
//! service principals, query options, app role assignments, keyCredentials, users and roles,
//! and every refusal with its exact status and Graph error code.

use crate::support::*;
use serde_json::{Value, json};
use time::Duration;

#[tokio::test]
async fn bring_your_own_application_sequence_works_verbatim() {
    let env = Env::start().await;
    let admin = env.user_token("admin").await;
    let cert = TestCert::new("BYOA");
    let app = env.register_app("ConnectSyncProvisioning_BYOA", &cert);
    let app_id = app.app_id.to_string();

    let sp = env
        .call(
            "GET",
            &format!("/v1.0/servicePrincipals(appId='{SYNC_SERVICE}')?$select=id"),
            Some(&admin),
            None,
        )
        .await;
    let body = sp.assert_status(200);
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "only id and @odata.context: {body:#}"
    );
    assert!(
        body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/v1.0/$metadata#servicePrincipals(id)/$entity")
    );
    assert!(
        body["@odata.context"]
            .as_str()
            .unwrap()
            .starts_with(&env.server.url)
    );
    let sync_sp_id = body["id"].as_str().unwrap().to_string();

    let roles = env
        .call(
            "GET",
            &format!("/v1.0/servicePrincipals(appId='{SYNC_SERVICE}')?$select=appRoles"),
            Some(&admin),
            None,
        )
        .await;
    let roles = roles.assert_status(200)["appRoles"]
        .as_array()
        .unwrap()
        .clone();
    let role_id = roles
        .iter()
        .find(|r| r["value"] == "ADSynchronization.ReadWrite.All")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let patch = json!({"requiredResourceAccess": [{"resourceAppId": SYNC_SERVICE, "resourceAccess": [{"id": role_id, "type": "Role"}]}]});
    env.call(
        "PATCH",
        &format!("/v1.0/applications(appId='{app_id}')"),
        Some(&admin),
        Some(patch),
    )
    .await
    .assert_status(204);

    let assign = json!({"principalId": app.service_principal_id.to_string(), "resourceId": sync_sp_id, "appRoleId": role_id});
    let created = env
        .call(
            "POST",
            &format!("/v1.0/servicePrincipals(appId='{app_id}')/appRoleAssignments"),
            Some(&admin),
            Some(assign.clone()),
        )
        .await;
    assert_eq!(created.assert_status(201)["appRoleId"], role_id);
    // The same grant again is refused as Graph refuses it.
    let again = env
        .call(
            "POST",
            &format!("/v1.0/servicePrincipals(appId='{app_id}')/appRoleAssignments"),
            Some(&admin),
            Some(assign),
        )
        .await;
    again.assert_error(400, "Request_BadRequest");
    assert_eq!(
        again.body["error"]["message"],
        "Permission being assigned already exists on the object."
    );

    let read = env
        .call(
            "GET",
            &format!("/v1.0/applications(appId='{app_id}')?$select=requiredResourceAccess"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        read.assert_status(200)["requiredResourceAccess"][0]["resourceAppId"],
        SYNC_SERVICE
    );

    let token = env.app_token(&app_id, &cert, SYNC_SERVICE).await;
    assert_eq!(
        claims(&token)["roles"],
        json!(["ADSynchronization.ReadWrite.All"])
    );
}

#[tokio::test]
async fn the_docs_forms_of_addressing_are_accepted() {
    let env = Env::start().await;
    let admin = env.user_token("admin").await;
    for path in [
        format!("/v1.0/servicePrincipals/(appId='{SYNC_SERVICE}')?$select=id"),
        format!("/v1.0/servicePrincipals(appId=\u{2018}{SYNC_SERVICE}\u{2019})?$select=id"),
        format!("/beta/servicePrincipals(appId='{SYNC_SERVICE}')?$select=id"),
        "/v1.0/servicePrincipals/c0000000-0000-4000-8000-000000000002?$select=id".to_string(),
    ] {
        let a = env.call("GET", &path, Some(&admin), None).await;
        assert_eq!(
            a.assert_status(200)["id"],
            "c0000000-0000-4000-8000-000000000002",
            "{path}"
        );
    }
}

#[tokio::test]
async fn applications_and_service_principals_crud() {
    let env = Env::start().await;
    let admin = env.user_token("admin").await;
    let created = env
        .call(
            "POST",
            "/v1.0/applications",
            Some(&admin),
            Some(json!({"displayName": "Contoso Sync"})),
        )
        .await;
    let app = created.assert_status(201).clone();
    assert!(
        app["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#applications/$entity")
    );
    let (id, app_id) = (
        app["id"].as_str().unwrap().to_string(),
        app["appId"].as_str().unwrap().to_string(),
    );

    let sp = env
        .call(
            "POST",
            "/v1.0/servicePrincipals",
            Some(&admin),
            Some(json!({"appId": app_id})),
        )
        .await;
    let sp_id = sp.assert_status(201)["id"].as_str().unwrap().to_string();
    env.call(
        "POST",
        "/v1.0/servicePrincipals",
        Some(&admin),
        Some(json!({"appId": app_id})),
    )
    .await
    .assert_error(409, "Request_MultipleObjectsWithSameKeyValue");

    env.call(
        "PATCH",
        &format!("/v1.0/applications/{id}"),
        Some(&admin),
        Some(json!({"displayName": "Renamed"})),
    )
    .await
    .assert_status(204);
    let got = env
        .call(
            "GET",
            &format!("/v1.0/applications/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(got.assert_status(200)["displayName"], "Renamed");
    env.call(
        "PATCH",
        &format!("/v1.0/servicePrincipals/{sp_id}"),
        Some(&admin),
        Some(json!({"accountEnabled": false})),
    )
    .await
    .assert_status(204);
    let got = env
        .call(
            "GET",
            &format!("/v1.0/servicePrincipals(appId='{app_id}')"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(got.assert_status(200)["accountEnabled"], false);

    env.call(
        "DELETE",
        &format!("/v1.0/applications(appId='{app_id}')"),
        Some(&admin),
        None,
    )
    .await
    .assert_status(204);
    env.call(
        "GET",
        &format!("/v1.0/applications/{id}"),
        Some(&admin),
        None,
    )
    .await
    .assert_error(404, "Request_ResourceNotFound");
    env.call(
        "GET",
        &format!("/v1.0/servicePrincipals/{sp_id}"),
        Some(&admin),
        None,
    )
    .await
    .assert_error(404, "Request_ResourceNotFound");
}

#[tokio::test]
async fn query_options() {
    let env = Env::start().await;
    let admin = env.user_token("admin").await;
    let all = env
        .call("GET", "/v1.0/servicePrincipals", Some(&admin), None)
        .await;
    let total = all.assert_status(200)["value"].as_array().unwrap().len();
    assert!(total >= 5);

    // Paging with $top follows @odata.nextLink on the host the request came to.
    let mut url = format!(
        "{}/v1.0/servicePrincipals?$top=2&$select=id,displayName",
        env.server.url
    );
    let mut seen = 0;
    loop {
        let resp = env.http.get(&url).bearer_auth(&admin).send().await.unwrap();
        let body: Value = resp.json().await.unwrap();
        let page = body["value"].as_array().unwrap();
        assert!(page.len() <= 2);
        assert!(
            page.iter().all(|o| o.as_object().unwrap().len() == 2),
            "{body:#}"
        );
        seen += page.len();
        match body["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&env.server.url), "{next}");
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(seen, total);

    let cases: &[(&str, usize)] = &[
        (
            "/v1.0/servicePrincipals?$filter=appId eq '6bf85cfa-ac8a-4be5-b5de-425a0d0dc016'",
            1,
        ),
        (
            "/v1.0/servicePrincipals?$filter=displayName eq 'microsoft graph'",
            1,
        ),
        (
            "/v1.0/servicePrincipals?$filter=startswith(displayName,'Microsoft')",
            5,
        ),
        (
            "/v1.0/servicePrincipals?$filter=id eq 'c0000000-0000-4000-8000-000000000003'",
            1,
        ),
        (
            "/v1.0/users?$filter=userPrincipalName eq 'ADMIN@contoso.onmicrosoft.com'",
            1,
        ),
        ("/v1.0/users?$filter=startswith(displayName,'zzz')", 0),
    ];
    for (path, n) in cases {
        let a = env.call("GET", path, Some(&admin), None).await;
        assert_eq!(
            a.assert_status(200)["value"].as_array().unwrap().len(),
            *n,
            "{path}"
        );
    }
    let refused: &[(&str, u16, &str)] = &[
        (
            "/v1.0/servicePrincipals?$filter=appId ne 'x'",
            400,
            "Request_UnsupportedQuery",
        ),
        (
            "/v1.0/servicePrincipals?$filter=homepage eq 'x'",
            400,
            "Request_UnsupportedQuery",
        ),
        ("/v1.0/servicePrincipals?$top=0", 400, "Request_BadRequest"),
        ("/v1.0/servicePrincipals?$select=nope", 400, "BadRequest"),
        (
            "/v1.0/servicePrincipals?$skiptoken=garbage",
            400,
            "Request_BadRequest",
        ),
        ("/v1.0/nothing", 400, "BadRequest"),
        ("/v1.0/applications/not-a-guid", 400, "Request_BadRequest"),
        (
            "/v1.0/applications/00000000-0000-4000-8000-00000000dead",
            404,
            "Request_ResourceNotFound",
        ),
    ];
    for (path, status, code) in refused {
        env.call("GET", path, Some(&admin), None)
            .await
            .assert_error(*status, code);
    }
    env.call("PUT", "/v1.0/applications", Some(&admin), None)
        .await
        .assert_error(405, "Request_BadRequest");
}

#[tokio::test]
async fn bearer_tokens_are_checked() {
    let env = Env::start().await;
    let admin = env.user_token("admin").await;
    let sync_token = env
        .user_token_for("admin", &format!("{SYNC_SERVICE}/.default"))
        .await;
    // A token signed by a key that is not the tenant's.
    let stranger = TestCert::new("stranger");
    let forged = stranger.jwt(
        json!({"alg": "RS256", "kid": "x", "x5t": "x"}),
        claims(&admin),
    );
    let mut tampered = admin.clone();
    tampered.push('A');
    let cases: Vec<(Option<String>, u16, &str)> = vec![
        (None, 401, "InvalidAuthenticationToken"),
        (Some("not-a-jwt".into()), 401, "InvalidAuthenticationToken"),
        (Some(forged), 401, "InvalidAuthenticationToken"),
        (Some(tampered), 401, "InvalidAuthenticationToken"),
        (Some(sync_token), 401, "InvalidAuthenticationToken"),
    ];
    for (token, status, code) in cases {
        let a = env
            .call("GET", "/v1.0/applications", token.as_deref(), None)
            .await;
        a.assert_error(status, code);
        assert!(a.header("www-authenticate").is_some());
    }
    // Expiry follows the tenant clock.
    env.server
        .with_tenant(|t| t.advance_clock(Duration::hours(2)));
    env.call("GET", "/v1.0/applications", Some(&admin), None)
        .await
        .assert_error(401, "InvalidAuthenticationToken");
}

#[tokio::test]
async fn authorization_follows_directory_roles_and_app_roles() {
    let env = Env::start().await;
    let cert = TestCert::new("target");
    let target = env.register_app("target", &cert);
    let path = format!("/v1.0/applications(appId='{}')", target.app_id);
    let patch = json!({"displayName": "changed"});
    // Delegated: by directory role.
    for (who, status) in [
        ("admin", 204),
        ("hybridadmin", 204),
        ("appadmin", 204),
        ("user", 403),
    ] {
        let token = env.user_token(who).await;
        let a = env
            .call("PATCH", &path, Some(&token), Some(patch.clone()))
            .await;
        if status == 204 {
            a.assert_status(204);
        } else {
            a.assert_error(403, "Authorization_RequestDenied");
        }
    }
    // The ordinary user may read, may create apps (and then owns them) but not assign roles.
    let user = env.user_token("user").await;
    env.call("GET", &path, Some(&user), None)
        .await
        .assert_status(200);
    let own = env
        .call(
            "POST",
            "/v1.0/applications",
            Some(&user),
            Some(json!({"displayName": "mine"})),
        )
        .await;
    let own_id = own.assert_status(201)["id"].as_str().unwrap().to_string();
    env.call(
        "PATCH",
        &format!("/v1.0/applications/{own_id}"),
        Some(&user),
        Some(patch.clone()),
    )
    .await
    .assert_status(204);
    env.call("POST", "/v1.0/users", Some(&user), Some(json!({})))
        .await
        .assert_error(403, "Authorization_RequestDenied");

    // Application tokens: by Graph app roles.
    let caller_cert = TestCert::new("caller");
    let caller = env.register_app("caller", &caller_cert);
    let no_roles = env
        .app_token(&caller.app_id.to_string(), &caller_cert, GRAPH)
        .await;
    env.call("GET", "/v1.0/applications", Some(&no_roles), None)
        .await
        .assert_error(403, "Authorization_RequestDenied");
    env.call("PATCH", &path, Some(&no_roles), Some(patch.clone()))
        .await
        .assert_error(403, "Authorization_RequestDenied");

    env.grant_graph_roles(
        caller.service_principal_id,
        &["Application.ReadWrite.OwnedBy"],
    );
    let owned_by = env
        .app_token(&caller.app_id.to_string(), &caller_cert, GRAPH)
        .await;
    env.call("PATCH", &path, Some(&owned_by), Some(patch.clone()))
        .await
        .assert_error(403, "Authorization_RequestDenied");
    let mine = env
        .call(
            "POST",
            "/v1.0/applications",
            Some(&owned_by),
            Some(json!({"displayName": "owned"})),
        )
        .await;
    let mine_id = mine.assert_status(201)["id"].as_str().unwrap().to_string();
    env.call(
        "PATCH",
        &format!("/v1.0/applications/{mine_id}"),
        Some(&owned_by),
        Some(patch.clone()),
    )
    .await
    .assert_status(204);

    env.grant_graph_roles(caller.service_principal_id, &["Application.ReadWrite.All"]);
    let all = env
        .app_token(&caller.app_id.to_string(), &caller_cert, GRAPH)
        .await;
    env.call("PATCH", &path, Some(&all), Some(patch.clone()))
        .await
        .assert_status(204);
    let assign = json!({"principalId": caller.service_principal_id.to_string(), "resourceId": "c0000000-0000-4000-8000-000000000002", "appRoleId": "0b41ed4d-5f52-442b-8952-ea7d90719860"});
    let sp_path = format!(
        "/v1.0/servicePrincipals/{}/appRoleAssignments",
        caller.service_principal_id
    );
    env.call("POST", &sp_path, Some(&all), Some(assign.clone()))
        .await
        .assert_error(403, "Authorization_RequestDenied");
    env.grant_graph_roles(
        caller.service_principal_id,
        &["AppRoleAssignment.ReadWrite.All"],
    );
    let assigner = env
        .app_token(&caller.app_id.to_string(), &caller_cert, GRAPH)
        .await;
    env.call("POST", &sp_path, Some(&assigner), Some(assign))
        .await
        .assert_status(201);
}

#[tokio::test]
async fn app_role_assignments() {
    let env = Env::start().await;
    let admin = env.user_token("admin").await;
    let cert = TestCert::new("assignee");
    let app = env.register_app("assignee", &cert);
    let sp = app.service_principal_id.to_string();
    let sync_sp = "c0000000-0000-4000-8000-000000000002";
    let role = "0b41ed4d-5f52-442b-8952-ea7d90719860";
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"principalId": sp, "resourceId": sync_sp, "appRoleId": "11111111-1111-4111-8111-111111111111"}),
            400,
            "Request_BadRequest",
        ),
        (
            json!({"principalId": sp, "resourceId": "00000000-0000-4000-8000-00000000dead", "appRoleId": role}),
            404,
            "Request_ResourceNotFound",
        ),
        (
            json!({"principalId": "c0000000-0000-4000-8000-000000000001", "resourceId": sync_sp, "appRoleId": role}),
            400,
            "Request_BadRequest",
        ),
        (
            json!({"resourceId": sync_sp, "appRoleId": role}),
            400,
            "Request_BadRequest",
        ),
    ];
    let path = format!("/v1.0/servicePrincipals/{sp}/appRoleAssignments");
    for (body, status, code) in cases {
        env.call("POST", &path, Some(&admin), Some(body))
            .await
            .assert_error(status, code);
    }
    let unknown = env
        .call("POST", &path, Some(&admin), Some(json!({"principalId": sp, "resourceId": sync_sp, "appRoleId": "11111111-1111-4111-8111-111111111111"})))
        .await;
    assert!(
        unknown.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Permission being assigned was not found")
    );

    // Through the resource's appRoleAssignedTo, as Microsoft recommends.
    let created = env
        .call(
            "POST",
            &format!("/v1.0/servicePrincipals(appId='{SYNC_SERVICE}')/appRoleAssignedTo"),
            Some(&admin),
            Some(json!({"principalId": sp, "resourceId": sync_sp, "appRoleId": role})),
        )
        .await;
    let assignment_id = created.assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let listed = env.call("GET", &path, Some(&admin), None).await;
    assert_eq!(
        listed.assert_status(200)["value"].as_array().unwrap().len(),
        1
    );
    let assigned_to = env
        .call(
            "GET",
            &format!("/v1.0/servicePrincipals/{sync_sp}/appRoleAssignedTo"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        assigned_to.assert_status(200)["value"][0]["principalId"],
        sp
    );
    env.call(
        "GET",
        &format!("{path}/{assignment_id}"),
        Some(&admin),
        None,
    )
    .await
    .assert_status(200);
    env.call(
        "DELETE",
        &format!("{path}/{assignment_id}"),
        Some(&admin),
        None,
    )
    .await
    .assert_status(204);
    env.call(
        "DELETE",
        &format!("{path}/{assignment_id}"),
        Some(&admin),
        None,
    )
    .await
    .assert_error(404, "Request_ResourceNotFound");
    let token = env
        .app_token_answer(&app.app_id.to_string(), &cert, SYNC_SERVICE)
        .await;
    assert!(
        claims(token["access_token"].as_str().unwrap())
            .get("roles")
            .is_none()
    );
}

#[tokio::test]
async fn key_credentials_through_patch() {
    let env = Env::start().await;
    let admin = env.user_token("admin").await;
    let created = env
        .call(
            "POST",
            "/v1.0/applications",
            Some(&admin),
            Some(json!({"displayName": "keys"})),
        )
        .await;
    let id = created.assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1.0/applications/{id}");
    let cert = TestCert::new("CN-patch");
    let (nb, na) = {
        let c = x509_parser::parse_x509_certificate(&cert.der).unwrap().1;
        (
            c.validity().not_before.timestamp(),
            c.validity().not_after.timestamp(),
        )
    };
    let date = |ts: i64| {
        time::OffsetDateTime::from_unix_timestamp(ts)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let with = |extra: Value| {
        let mut k = cert.key_credential();
        for (key, v) in extra.as_object().unwrap() {
            k[key] = v.clone();
        }
        json!({"keyCredentials": [k]})
    };
    let refused: Vec<(Value, &str)> = vec![
        (with(json!({"usage": "Sign"})), "\"usage\""),
        (with(json!({"type": "Bogus"})), "\"type\""),
        (
            with(json!({"key": "bm90IGEgY2VydGlmaWNhdGU="})),
            "not a valid certificate",
        ),
        (
            with(json!({"key": base64_pkcs8(&cert)})),
            "not a valid certificate",
        ),
        (
            with(json!({"endDateTime": date(na + 86400)})),
            "end date is invalid",
        ),
        (
            with(json!({"startDateTime": date(nb - 86400)})),
            "start date is invalid",
        ),
        (
            with(json!({"startDateTime": date(nb + 7200), "endDateTime": date(nb + 3600)})),
            "end date is invalid",
        ),
        (
            json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify"}]}),
            "'key' is required",
        ),
    ];
    for (body, message) in refused {
        let a = env
            .call("PATCH", &path, Some(&admin), Some(body.clone()))
            .await;
        a.assert_error(400, "Request_BadRequest");
        assert!(
            a.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(message),
            "{body}: {:#}",
            a.body
        );
    }
    env.call("PATCH", &path, Some(&admin), Some(with(json!({}))))
        .await
        .assert_status(204);
    let listed = env.call("GET", &path, Some(&admin), None).await;
    let k = &listed.assert_status(200)["keyCredentials"][0];
    assert_eq!(k["key"], Value::Null, "key only on $select");
    assert_eq!(k["displayName"], "CN=CN-patch");
    let thumb = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        mock_graph::core::ids::Thumbprint::sha1_of(&cert.der).as_bytes(),
    );
    assert_eq!(k["customKeyIdentifier"], thumb);
    let selected = env
        .call(
            "GET",
            &format!("{path}?$select=keyCredentials"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        selected.assert_status(200)["keyCredentials"][0]["key"],
        cert.key_b64()
    );
    let in_list = env
        .call(
            "GET",
            "/v1.0/applications?$select=keyCredentials",
            Some(&admin),
            None,
        )
        .await;
    assert!(
        in_list.assert_status(200)["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["keyCredentials"]
                .as_array()
                .unwrap()
                .iter()
                .all(|k| k["key"].is_null()))
    );

    // Resending the collection as GET gave it (key null) keeps the credential; a new one joins.
    let key_id = k["keyId"].clone();
    let second = TestCert::new("second");
    let body = json!({"keyCredentials": [{"keyId": key_id, "type": "AsymmetricX509Cert", "usage": "Verify", "key": null}, second.key_credential()]});
    env.call("PATCH", &path, Some(&admin), Some(body))
        .await
        .assert_status(204);
    let after = env
        .call(
            "GET",
            &format!("{path}?$select=keyCredentials"),
            Some(&admin),
            None,
        )
        .await;
    let creds = after.assert_status(200)["keyCredentials"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(creds.len(), 2);
    assert_eq!(creds[0]["key"], cert.key_b64());
    // An empty collection removes them all.
    env.call(
        "PATCH",
        &path,
        Some(&admin),
        Some(json!({"keyCredentials": []})),
    )
    .await
    .assert_status(204);
    let none = env.call("GET", &path, Some(&admin), None).await;
    assert_eq!(none.assert_status(200)["keyCredentials"], json!([]));
}

fn base64_pkcs8(cert: &TestCert) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &cert.pkcs8)
}

#[tokio::test]
async fn users_roles_and_the_sync_account() {
    let env = Env::start().await;
    let hybrid = env.user_token("hybridadmin").await;
    let domain = env.domain();
    let upn = format!("Sync_SERVER01_0123456789ab@{domain}");
    let good = json!({"accountEnabled": true, "displayName": "On-Premises Directory Synchronization Service Account", "mailNickname": "Sync_SERVER01_0123456789ab", "userPrincipalName": upn, "passwordProfile": {"password": "Xk9#long-and-complex", "forceChangePasswordNextSignIn": false}});
    let refused: Vec<(Value, u16, &str)> = vec![
        (json!({"displayName": "x"}), 400, "Request_BadRequest"),
        (
            {
                let mut b = good.clone();
                b["userPrincipalName"] = json!("x@fabrikam.com");
                b
            },
            400,
            "Request_BadRequest",
        ),
        (
            {
                let mut b = good.clone();
                b["passwordProfile"]["password"] = json!("short");
                b
            },
            400,
            "Request_BadRequest",
        ),
        (
            {
                let mut b = good.clone();
                b["userPrincipalName"] = json!(format!("admin@{domain}"));
                b
            },
            400,
            "Request_BadRequest",
        ),
        (
            {
                let mut b = good.clone();
                b["favouriteColour"] = json!("blue");
                b
            },
            400,
            "BadRequest",
        ),
    ];
    for (body, status, code) in refused {
        env.call("POST", "/v1.0/users", Some(&hybrid), Some(body))
            .await
            .assert_error(status, code);
    }
    let created = env
        .call("POST", "/v1.0/users", Some(&hybrid), Some(good))
        .await;
    let user_id = created.assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(created.body.get("passwordProfile").is_none());

    let dsa = "d29b2b05-8046-44ba-8758-1e26182fcf32";
    let user = env.user_token("user").await;
    let assignment =
        json!({"principalId": user_id, "roleDefinitionId": dsa, "directoryScopeId": "/"});
    env.call(
        "POST",
        "/v1.0/roleManagement/directory/roleAssignments",
        Some(&user),
        Some(assignment.clone()),
    )
    .await
    .assert_error(403, "Authorization_RequestDenied");
    let ra = env
        .call(
            "POST",
            "/v1.0/roleManagement/directory/roleAssignments",
            Some(&hybrid),
            Some(assignment.clone()),
        )
        .await;
    let ra_id = ra.assert_status(201)["id"].as_str().unwrap().to_string();
    env.call(
        "POST",
        "/v1.0/roleManagement/directory/roleAssignments",
        Some(&hybrid),
        Some(assignment),
    )
    .await
    .assert_error(400, "Request_BadRequest");
    let members = env
        .call(
            "GET",
            &format!("/v1.0/directoryRoles(roleTemplateId='{dsa}')/members"),
            Some(&hybrid),
            None,
        )
        .await;
    assert_eq!(members.assert_status(200)["value"][0]["id"], user_id);
    let filtered = env
        .call(
            "GET",
            &format!(
                "/v1.0/roleManagement/directory/roleAssignments?$filter=principalId eq '{user_id}'"
            ),
            Some(&hybrid),
            None,
        )
        .await;
    assert_eq!(
        filtered.assert_status(200)["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The new account signs in and its token carries the role.
    let token = env
        .user_token_with(
            &upn,
            "Xk9#long-and-complex",
            &format!("{SYNC_SERVICE}/.default"),
        )
        .await;
    assert_eq!(claims(&token)["wids"], json!([dsa]));

    // Password reset, removal from the role (through directoryRoles), deletion.
    env.call(
        "PATCH",
        &format!("/v1.0/users/{upn}"),
        Some(&hybrid),
        Some(json!({"passwordProfile": {"password": "An0ther#secret"}})),
    )
    .await
    .assert_status(204);
    env.call(
        "DELETE",
        &format!("/v1.0/roleManagement/directory/roleAssignments/{ra_id}"),
        Some(&hybrid),
        None,
    )
    .await
    .assert_status(204);
    env.call("POST", &format!("/v1.0/directoryRoles/{dsa}/members/$ref"), Some(&hybrid), Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{user_id}")})))
        .await
        .assert_status(204);
    env.call("POST", &format!("/v1.0/directoryRoles/{dsa}/members/$ref"), Some(&hybrid), Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{user_id}")})))
        .await
        .assert_error(400, "Request_BadRequest");
    env.call(
        "DELETE",
        &format!("/v1.0/directoryRoles/{dsa}/members/{user_id}/$ref"),
        Some(&hybrid),
        None,
    )
    .await
    .assert_status(204);
    env.call(
        "DELETE",
        &format!("/v1.0/users/{user_id}"),
        Some(&hybrid),
        None,
    )
    .await
    .assert_status(204);
    env.call(
        "GET",
        &format!("/v1.0/users/{user_id}"),
        Some(&hybrid),
        None,
    )
    .await
    .assert_error(404, "Request_ResourceNotFound");

    let org = env
        .call("GET", "/v1.0/organization", Some(&hybrid), None)
        .await;
    assert_eq!(
        org.assert_status(200)["value"][0]["verifiedDomains"][0]["name"],
        domain
    );
    let me = env
        .call(
            "GET",
            "/v1.0/me?$select=userPrincipalName",
            Some(&hybrid),
            None,
        )
        .await;
    assert_eq!(
        me.assert_status(200)["userPrincipalName"],
        format!("hybridadmin@{domain}")
    );
    let roles = env
        .call("GET", "/v1.0/directoryRoles", Some(&hybrid), None)
        .await;
    assert!(roles.assert_status(200)["value"].as_array().unwrap().len() >= 5);
}

#[tokio::test]
async fn errors_carry_request_ids() {
    let env = Env::start().await;
    let admin = env.user_token("admin").await;
    let resp = env
        .http
        .get(format!(
            "{}/v1.0/applications/00000000-0000-4000-8000-00000000dead",
            env.server.url
        ))
        .bearer_auth(&admin)
        .header("client-request-id", "5d2b6a1e-1111-4222-8333-444455556666")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["client-request-id"],
        "5d2b6a1e-1111-4222-8333-444455556666"
    );
    let request_id = resp.headers()["request-id"].to_str().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["innerError"]["request-id"], request_id);
    assert_eq!(
        body["error"]["innerError"]["client-request-id"],
        "5d2b6a1e-1111-4222-8333-444455556666"
    );
    assert_eq!(
        body["error"]["innerError"]["date"].as_str().unwrap().len(),
        19
    );
}
