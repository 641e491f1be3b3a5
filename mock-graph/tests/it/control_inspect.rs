//! The control plane's endpoints for people (the inspector's), over real HTTPS: the tenant
//! list, the summary with credential marks on the tenant's clock (who added a credential
//! decides whether it is foreign, and Graph never shows that), removing one fault rule,
//! freezing the clock, the journal's extensions and its live event stream, the operation names.

use crate::support::*;
use serde_json::{Value, json};
use time::Duration;

fn tenant_path(env: &Env, rest: &str) -> String {
    format!("/_mock/tenants/{}{rest}", env.server.tenant_id)
}

#[tokio::test]
async fn tenants_and_operations_are_listed() {
    let env = Env::start().await;
    let made = env
        .call("POST", "/_mock/tenants", None, Some(json!({})))
        .await;
    let made = made.assert_status(201).clone();
    let list = env.call("GET", "/_mock/tenants", None, None).await;
    let list = list.assert_status(200)["value"].as_array().unwrap().clone();
    let ids: Vec<&str> = list.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            env.server.tenant_id.to_string().as_str(),
            made["id"].as_str().unwrap()
        ]
    );
    assert_eq!(list[0]["initialDomain"], "contoso.onmicrosoft.com");
    assert_eq!(list[0]["cloud"], "global");
    assert_eq!(list[1]["initialDomain"], made["domain"]);

    let ops = env.call("GET", "/_mock/operations", None, None).await;
    let ops = ops.assert_status(200)["value"].as_array().unwrap().clone();
    assert_eq!(ops[0], "token");
    assert!(ops.contains(&json!("oauth2PermissionGrants.list")));
}

/// Keys added through Graph carry who added them: the owner who created the application and
/// the application itself (addKey) are its own; an Application Administrator who does not own
/// it adds a foreign key. Graph never shows the mock's record of it.
#[tokio::test]
async fn the_summary_marks_foreign_keys_by_who_added_them() {
    let env = Env::start().await;
    let admin = env.user_token("admin").await;
    let app = env
        .call(
            "POST",
            "/v1.0/applications",
            Some(&admin),
            Some(json!({"displayName": "Sync"})),
        )
        .await;
    let app = app.assert_status(201).clone();
    let (object, app_id) = (
        app["id"].as_str().unwrap().to_string(),
        app["appId"].as_str().unwrap().to_string(),
    );
    env.call(
        "POST",
        "/v1.0/servicePrincipals",
        Some(&admin),
        Some(json!({"appId": app_id})),
    )
    .await
    .assert_status(201);
    let own = TestCert::new("own");
    let path = format!("/v1.0/applications/{object}");
    env.call(
        "PATCH",
        &path,
        Some(&admin),
        Some(json!({"keyCredentials": [own.key_credential()]})),
    )
    .await
    .assert_status(204);
    let keys = env
        .call(
            "GET",
            &format!("{path}?$select=keyCredentials"),
            Some(&admin),
            None,
        )
        .await;
    let own_id = keys.assert_status(200)["keyCredentials"][0]["keyId"].clone();
    // An Application Administrator (no owner) adds a second one, keeping the first.
    let appadmin = env.user_token("appadmin").await;
    let helpdesk = TestCert::new("helpdesk");
    env.call(
        "PATCH",
        &path,
        Some(&appadmin),
        Some(json!({"keyCredentials": [{"keyId": own_id, "type": "AsymmetricX509Cert", "usage": "Verify"}, helpdesk.key_credential()]})),
    )
    .await
    .assert_status(204);
    // The application rolls in a third itself.
    let token = env.app_token(&app_id, &own, GRAPH).await;
    let rolled = TestCert::new("rolled");
    env.call(
        "POST",
        &format!("{path}/addKey"),
        Some(&token),
        Some(json!({"keyCredential": rolled.key_credential(), "proof": own.proof(&object, env.now())})),
    )
    .await
    .assert_status(200);

    let graph = env
        .call(
            "GET",
            &format!("{path}?$select=keyCredentials"),
            Some(&admin),
            None,
        )
        .await;
    let graph = graph.assert_status(200).to_string();
    assert!(!graph.contains("addedBy"), "{graph}");
    let listed = env
        .call("GET", "/v1.0/applications", Some(&admin), None)
        .await;
    assert!(!listed.assert_status(200).to_string().contains("addedBy"));

    let summary = env
        .call("GET", &tenant_path(&env, "/summary"), None, None)
        .await;
    let summary = summary.assert_status(200);
    let app = summary["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["appId"] == app_id)
        .unwrap();
    assert_eq!(
        app["owners"][0]["name"], "admin@contoso.onmicrosoft.com",
        "{app:#}"
    );
    let marks: Vec<(Value, Value, Value)> = app["keyCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["sha1"].clone(),
                k["foreign"].clone(),
                k["addedBy"]["via"].clone(),
            )
        })
        .collect();
    assert_eq!(
        marks,
        [
            (
                json!(own.sha1_hex().to_uppercase()),
                json!(false),
                json!("update")
            ),
            (
                json!(helpdesk.sha1_hex().to_uppercase()),
                json!(true),
                json!("update")
            ),
            (
                json!(rolled.sha1_hex().to_uppercase()),
                json!(false),
                json!("addKey")
            ),
        ]
    );
    assert_eq!(
        app["keyCredentials"][1]["addedBy"]["principal"]["name"],
        "appadmin@contoso.onmicrosoft.com"
    );
    // Expiry is measured on the tenant's clock: ten years and a day ahead, the test
    // certificates (ten years) have expired.
    let k = &app["keyCredentials"][0];
    assert_eq!(k["status"], "valid");
    assert!(k["secondsLeft"].as_i64().unwrap() > 150 * 86_400);
    env.call(
        "POST",
        &tenant_path(&env, "/clock"),
        None,
        Some(json!({"advance_seconds": Duration::days(3651).whole_seconds()})),
    )
    .await
    .assert_status(200);
    let later = env
        .call("GET", &tenant_path(&env, "/summary"), None, None)
        .await;
    let later = later.assert_status(200);
    let k = later["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["appId"] == app_id)
        .unwrap()["keyCredentials"][0]
        .clone();
    assert_eq!(k["status"], "expired", "{k:#}");
    assert!(k["secondsLeft"].as_i64().unwrap() < 0);
}

#[tokio::test]
async fn one_fault_rule_is_removed_by_id() {
    let env = Env::start().await;
    let faults = tenant_path(&env, "/faults");
    let mut ids = Vec::new();
    for op in ["token", "users.list"] {
        let a = env
            .call(
                "POST",
                &faults,
                None,
                Some(json!({"match": {"operation": op}, "status": 503})),
            )
            .await;
        ids.push(a.assert_status(201)["id"].as_str().unwrap().to_string());
    }
    let gone = env
        .call("DELETE", &format!("{faults}/{}", ids[0]), None, None)
        .await;
    assert_eq!(gone.status, 204);
    let left = env.call("GET", &faults, None, None).await;
    let left = left.assert_status(200)["value"].clone();
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["id"], ids[1].as_str());
    // The token endpoint answers again.
    env.user_token("admin").await;

    for (path, status, words) in [
        (format!("{faults}/{}", ids[0]), 404, "has no fault rule"),
        (format!("{faults}/fault-99"), 404, "`fault-99`"),
        (
            "/_mock/tenants/nope/faults/fault-1".to_string(),
            400,
            "not a tenant id",
        ),
        (
            "/_mock/tenants/00000000-0000-4000-8000-000000000000/faults/fault-1".to_string(),
            404,
            "no tenant",
        ),
    ] {
        let a = env.call("DELETE", &path, None, None).await;
        assert_eq!(a.status, status, "{path}: {:#}", a.body);
        let message = a.body["error"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{path}: {message}");
    }
}

#[tokio::test]
async fn the_clock_freezes_and_runs_on() {
    let env = Env::start().await;
    let clock = tenant_path(&env, "/clock");
    let running = env.call("GET", &clock, None, None).await;
    assert_eq!(running.assert_status(200)["frozen"], false);
    let frozen = env
        .call(
            "POST",
            &clock,
            None,
            Some(json!({"set": "2031-02-03T04:05:06Z", "frozen": true})),
        )
        .await;
    assert_eq!(
        frozen.assert_status(200).clone(),
        json!({"now": "2031-02-03T04:05:06Z", "frozen": true})
    );
    let moved = env
        .call("POST", &clock, None, Some(json!({"advance_seconds": 60})))
        .await;
    assert_eq!(moved.assert_status(200)["now"], "2031-02-03T04:06:06Z");
    let thawed = env
        .call("POST", &clock, None, Some(json!({"frozen": false})))
        .await;
    let thawed = thawed.assert_status(200);
    assert_eq!(thawed["frozen"], false);
    assert!(
        thawed["now"]
            .as_str()
            .unwrap()
            .starts_with("2031-02-03T04:06"),
        "{thawed}"
    );
    for bad in [json!({"frozen": "yes"}), json!({"frozen": null, "set": 1})] {
        let a = env.call("POST", &clock, None, Some(bad.clone())).await;
        assert_eq!(a.status, 400, "{bad}: {:#}", a.body);
        assert!(a.body["error"].is_string());
    }
}

/// The journal's live view: the journal so far, then each request as it is answered, then
/// the clearing. Read as the browser reads it (server-sent events).
#[tokio::test]
async fn the_journal_streams_a_snapshot_then_each_request() {
    let env = Env::start().await;
    env.user_token("admin").await;
    let mut stream = env
        .http
        .get(format!(
            "{}{}",
            env.server.url,
            tenant_path(&env, "/requests/events")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut events = Events::default();
    let (name, data) = events.next(&mut stream).await;
    assert_eq!(name, "snapshot");
    let snapshot = data["value"].as_array().unwrap().clone();
    assert_eq!(snapshot.len(), 1);
    assert_eq!(snapshot[0]["operation"], "token");

    // A token request the tenant refuses (an application it does not know): AADSTS700016.
    let refused = env
        .http
        .post(env.server.token_url_v2())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "00000000-0000-4000-8000-00000000abcd"),
            ("client_secret", "not-a-secret"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let (name, entry) = events.next(&mut stream).await;
    assert_eq!(name, "entry");
    assert_eq!(entry["operation"], "token");
    assert_eq!(entry["status"], 400);
    assert_eq!(entry["error_code"], "700016");
    assert_eq!(entry["seq"], snapshot[0]["seq"].as_u64().unwrap() + 1);
    assert!(
        entry["error_message"].as_str().unwrap().len() > 10,
        "{entry}"
    );

    env.call("DELETE", &tenant_path(&env, "/requests"), None, None)
        .await;
    let (name, _) = events.next(&mut stream).await;
    assert_eq!(name, "cleared");

    let unknown = env
        .call(
            "GET",
            "/_mock/tenants/00000000-0000-4000-8000-000000000000/requests/events",
            None,
            None,
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body["error"].is_string());
}

/// Server-sent events read off a response, one at a time (comments and keep-alives skipped).
#[derive(Default)]
struct Events {
    buffer: String,
}

impl Events {
    async fn next(&mut self, resp: &mut reqwest::Response) -> (String, Value) {
        // One deadline for the event, so that keep-alive comments cannot keep a test waiting.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return (name, serde_json::from_str(&data).expect("JSON data"));
            }
            let chunk = tokio::time::timeout_at(deadline, resp.chunk())
                .await
                .expect("an event within 30 s")
                .expect("the stream reads")
                .expect("the stream goes on");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[tokio::test]
async fn the_summary_and_the_page_are_served() {
    let env = Env::start().await;
    let summary = env
        .call("GET", &tenant_path(&env, "/summary"), None, None)
        .await;
    let summary = summary.assert_status(200);
    let admin = summary["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["userPrincipalName"] == "admin@contoso.onmicrosoft.com")
        .unwrap();
    assert_eq!(admin["directoryRoles"][0]["name"], "Global Administrator");
    assert_eq!(admin["hasPassword"], true);
    assert!(!summary.to_string().contains(PASSWORD));
    let graph_grant = summary["oauth2PermissionGrants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["client"]["name"] == "Microsoft Graph Command Line Tools")
        .unwrap();
    assert_eq!(graph_grant["resource"]["name"], "Microsoft Graph");
    assert!(summary["appRoleAssignments"].is_array());

    for (path, kind) in [
        ("/_mock/ui/", "text/html"),
        ("/_mock/ui/inspector.js", "text/javascript"),
        ("/_mock/ui/inspector.css", "text/css"),
    ] {
        let resp = env
            .http
            .get(format!("{}{path}", env.server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let h = resp.headers();
        assert!(
            h["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'none'")
        );
        let text = resp.text().await.unwrap();
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{path}: no other origin"
        );
    }
    let bare = env
        .http
        .get(format!("{}/_mock/ui", env.server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 200, "redirected to /_mock/ui/");
    assert!(bare.url().path().ends_with("/_mock/ui/"));
    let missing = env.call("GET", "/_mock/ui/nothing.js", None, None).await;
    assert_eq!(missing.status, 404);
    assert!(missing.body["error"].is_string());
}
