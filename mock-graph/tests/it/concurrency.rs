//! Many clients rolling keys on one application at once, over real HTTPS.
//!
//! Sixteen tasks each own one certificate credential of the same application and roll it
//! repeatedly: addKey with a proof signed by their current key, a token with the new key,
//! removeKey of the old one with a proof signed by the new key, then a token with the new key
//! and a refusal (700027) for the old one. addKey and removeKey are applied under the tenant's
//! lock, so they are atomic with respect to each other: no task's update is lost, no task's
//! current credential ever vanishes, and the final collection is exactly the tasks' current
//! credentials.
//!
//! While they do, an administrator PATCHes the application over and over (read-modify-write
//! of `displayName`, reading `keyCredentials` too): a PATCH changes only the properties it
//! names, so it loses none of the tasks' updates either.
//!
//! An administrator's read-modify-write of `keyCredentials` itself is another matter. PATCH
//! replaces the whole collection and Microsoft Graph offers no optimistic concurrency on
//! applications (no ETag, no If-Match), so it is last-writer-wins: a PATCH built from a read
//! taken before a concurrent addKey drops the added credential, and one built from a read taken
//! before a concurrent removeKey brings the removed credential back (GET with `$select` returns
//! each credential's `key`). The mock does the same; the last test pins that down
//! deterministically, and the concurrent tests keep such an administrator out.

use std::sync::Arc;

use crate::support::*;
use mock_graph::core::ids::AppId;
use serde_json::{Value, json};

const TASKS: usize = 16;
const ROUNDS: usize = 3;

struct Shared {
    env: Env,
    app: mock_graph::core::tenant::RegisteredApplication,
}

impl Shared {
    fn object_id(&self) -> String {
        self.app.application_id.to_string()
    }

    fn app_id(&self) -> String {
        self.app.app_id.to_string()
    }

    /// The keyId of `cert`'s credential on the application, as the tenant has it now.
    fn key_id_of(&self, cert: &TestCert) -> Option<String> {
        let app_id: AppId = self.app.app_id;
        self.env.server.with_tenant(|t| {
            t.directory.application_by_app_id(app_id).and_then(|a| {
                a.key_credentials
                    .iter()
                    .find(|k| k.key.as_deref() == Some(cert.der.as_slice()))
                    .map(|k| k.key_id.to_string())
            })
        })
    }

    async fn token(&self, cert: &TestCert) -> Result<String, Value> {
        let answer = self.env.app_token_answer(&self.app_id(), cert, GRAPH).await;
        match answer["access_token"].as_str() {
            Some(t) => Ok(t.to_string()),
            None => Err(answer),
        }
    }
}

/// One task: rolls its own key `ROUNDS` times, checking after each of its steps that its
/// current key works and its removed one does not. Returns its final certificate.
async fn roller(
    shared: Arc<Shared>,
    task: usize,
    mut current: TestCert,
    mut current_id: String,
) -> Result<TestCert, String> {
    let oid = shared.object_id();
    for round in 0..ROUNDS {
        let ctx = |step: &str| format!("task {task}, round {round}: {step}");
        let token = shared
            .token(&current)
            .await
            .map_err(|e| format!("{}: {e}", ctx("token with the current key")))?;
        let new = TestCert::new(&format!("task {task} round {round}"));
        let body = json!({
            "keyCredential": new.key_credential(),
            "passwordCredential": null,
            "proof": current.proof(&oid, shared.env.now()),
        });
        let answer = shared
            .env
            .call(
                "POST",
                &format!("/v1.0/applications/{oid}/addKey"),
                Some(&token),
                Some(body),
            )
            .await;
        let new_id = match (answer.status, answer.body["keyId"].as_str()) {
            (200, Some(id)) => id.to_string(),
            _ => {
                return Err(format!(
                    "{}: {} {:#}",
                    ctx("addKey"),
                    answer.status,
                    answer.body
                ));
            }
        };
        ensure_same_id(&shared, &new, &new_id).map_err(|e| ctx(&e))?;
        // The new key works right after the task's own step; so does the old one still.
        let new_token = shared
            .token(&new)
            .await
            .map_err(|e| format!("{}: {e}", ctx("token with the new key")))?;
        shared
            .token(&current)
            .await
            .map_err(|e| format!("{}: {e}", ctx("token with the old key before removeKey")))?;
        let answer = shared
            .env
            .call(
                "POST",
                &format!("/v1.0/applications/{oid}/removeKey"),
                Some(&new_token),
                Some(json!({"keyId": current_id, "proof": new.proof(&oid, shared.env.now())})),
            )
            .await;
        if answer.status != 204 {
            return Err(format!(
                "{}: {} {:#}",
                ctx("removeKey"),
                answer.status,
                answer.body
            ));
        }
        match shared.token(&current).await {
            Err(e)
                if e["error_codes"] == json!([700027])
                    && e["error_description"]
                        .as_str()
                        .is_some_and(|d| d.contains("The key was not found.")) => {}
            other => {
                return Err(format!(
                    "{}: the removed key answers {other:?}",
                    ctx("token with the old key")
                ));
            }
        }
        shared
            .token(&new)
            .await
            .map_err(|e| format!("{}: {e}", ctx("token with the new key after removeKey")))?;
        current = new;
        current_id = new_id;
    }
    Ok(current)
}

/// addKey's answer names the credential the tenant holds for the certificate.
fn ensure_same_id(shared: &Shared, cert: &TestCert, id: &str) -> Result<(), String> {
    match shared.key_id_of(cert) {
        Some(held) if held == id => Ok(()),
        other => Err(format!(
            "addKey answered keyId {id}, the application holds {other:?}"
        )),
    }
}

/// An administrator's read-modify-write PATCHes of `displayName` (reading `keyCredentials`
/// as well), `count` times; returns the names it wrote.
async fn admin(shared: Arc<Shared>, count: usize) -> Result<Vec<String>, String> {
    let token = shared.env.user_token("admin").await;
    let oid = shared.object_id();
    let mut written = Vec::new();
    for n in 0..count {
        let got = shared
            .env
            .call(
                "GET",
                &format!("/v1.0/applications/{oid}?$select=displayName,keyCredentials"),
                Some(&token),
                None,
            )
            .await;
        if got.status != 200 {
            return Err(format!("admin GET: {} {:#}", got.status, got.body));
        }
        let name = format!("{} / {n}", got.body["displayName"].as_str().unwrap_or(""));
        let patched = shared
            .env
            .call(
                "PATCH",
                &format!("/v1.0/applications/{oid}"),
                Some(&token),
                Some(json!({"displayName": name})),
            )
            .await;
        if patched.status != 204 {
            return Err(format!(
                "admin PATCH: {} {:#}",
                patched.status, patched.body
            ));
        }
        written.push(name);
    }
    Ok(written)
}

async fn run(with_admin: bool) {
    let env = Env::start().await;
    let certs: Vec<TestCert> = (0..TASKS)
        .map(|i| TestCert::new(&format!("task {i}")))
        .collect();
    let app = env
        .server
        .with_tenant(|t| t.register_application("concurrent keys"));
    let ids: Vec<String> = env.server.with_tenant(|t| {
        let now = t.now();
        certs
            .iter()
            .map(|c| {
                t.add_certificate(
                    app.application_id,
                    &c.der,
                    now - time::Duration::days(1),
                    now + time::Duration::days(300),
                )
                .expect("application")
                .to_string()
            })
            .collect()
    });
    let shared = Arc::new(Shared { env, app });
    let admin_task = with_admin.then(|| tokio::spawn(admin(shared.clone(), 24)));
    let tasks: Vec<_> = certs
        .into_iter()
        .zip(ids)
        .enumerate()
        .map(|(i, (cert, id))| tokio::spawn(roller(shared.clone(), i, cert, id)))
        .collect();
    let mut finals = Vec::new();
    let mut failures = Vec::new();
    for t in tasks {
        match t.await.expect("task panicked") {
            Ok(cert) => finals.push(cert),
            Err(e) => failures.push(e),
        }
    }
    let mut names = Vec::new();
    if let Some(a) = admin_task {
        match a.await.expect("admin panicked") {
            Ok(n) => names = n,
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");

    // The final collection is exactly the tasks' current credentials.
    let app_id = shared.app.app_id;
    let (mut actual, display_name): (Vec<Vec<u8>>, String) = shared.env.server.with_tenant(|t| {
        let a = t
            .directory
            .application_by_app_id(app_id)
            .expect("application");
        (
            a.key_credentials
                .iter()
                .filter_map(|k| k.key.clone())
                .collect(),
            a.display_name.clone(),
        )
    });
    let mut expected: Vec<Vec<u8>> = finals.iter().map(|c| c.der.clone()).collect();
    expected.sort();
    actual.sort();
    assert_eq!(
        actual.len(),
        expected.len(),
        "{} credentials on the application, {} tasks",
        actual.len(),
        expected.len()
    );
    assert!(
        actual == expected,
        "the application's credentials are not the tasks' current ones"
    );
    for (i, cert) in finals.iter().enumerate() {
        assert!(
            shared.token(cert).await.is_ok(),
            "task {i}'s final key gets no token"
        );
    }
    // The administrator's updates were not lost either: each PATCH built on the previous one.
    if let Some(last) = names.last() {
        assert_eq!(&display_name, last);
        assert_eq!(display_name.matches(" / ").count(), names.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn add_key_and_remove_key_lose_no_update_under_contention() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_administrators_patches_lose_no_key_update() {
    run(true).await;
}

/// Last writer wins, deterministically: a PATCH built from a read taken before an addKey
/// drops the added credential; one built from a read taken before a removal brings the removed
/// credential back (the read returned its `key`).
#[tokio::test]
async fn keycredentials_patch_is_last_writer_wins() {
    let env = Env::start().await;
    let cert = TestCert::new("owner");
    let app = env.register_app("lww", &cert);
    let oid = app.application_id.to_string();
    let admin = env.user_token("admin").await;
    let read = env
        .call(
            "GET",
            &format!("/v1.0/applications/{oid}?$select=keyCredentials"),
            Some(&admin),
            None,
        )
        .await;
    let stale = read.assert_status(200)["keyCredentials"].clone();
    assert!(
        read.header("etag").is_none() && read.body.get("@odata.etag").is_none(),
        "applications carry no ETag"
    );

    let token = env.app_token(&app.app_id.to_string(), &cert, GRAPH).await;
    let new = TestCert::new("added meanwhile");
    let added = env
        .call(
            "POST",
            &format!("/v1.0/applications/{oid}/addKey"),
            Some(&token),
            Some(json!({"keyCredential": new.key_credential(), "passwordCredential": null, "proof": cert.proof(&oid, env.now())})),
        )
        .await;
    let new_id = added.assert_status(200)["keyId"]
        .as_str()
        .unwrap()
        .to_string();

    env.call(
        "PATCH",
        &format!("/v1.0/applications/{oid}"),
        Some(&admin),
        Some(json!({"keyCredentials": stale})),
    )
    .await
    .assert_status(204);
    let answer = env
        .app_token_answer(&app.app_id.to_string(), &new, GRAPH)
        .await;
    assert_eq!(
        answer["error_codes"],
        json!([700027]),
        "the stale PATCH dropped the credential added meanwhile"
    );
    assert!(
        answer["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("The key was not found."),
        "{answer}"
    );

    // Now the other way round: the owner's credential is removed after the read; the stale
    // PATCH resends it with its key, and it is back.
    let read = env
        .call(
            "GET",
            &format!("/v1.0/applications/{oid}?$select=keyCredentials"),
            Some(&admin),
            None,
        )
        .await;
    let stale = read.assert_status(200)["keyCredentials"].clone();
    assert!(
        stale[0]["key"].is_string(),
        "a $select-ed GET returns the key"
    );
    let owner_id = stale[0]["keyId"].as_str().unwrap().to_string();
    assert_ne!(owner_id, new_id);
    env.call(
        "POST",
        &format!("/v1.0/applications/{oid}/removeKey"),
        Some(&token),
        Some(json!({"keyId": owner_id, "proof": cert.proof(&oid, env.now())})),
    )
    .await
    .assert_status(204);
    let answer = env
        .app_token_answer(&app.app_id.to_string(), &cert, GRAPH)
        .await;
    assert_eq!(answer["error_codes"], json!([700027]));
    assert!(
        answer["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("The key was not found."),
        "{answer}"
    );
    env.call(
        "PATCH",
        &format!("/v1.0/applications/{oid}"),
        Some(&admin),
        Some(json!({"keyCredentials": stale})),
    )
    .await
    .assert_status(204);
    env.app_token(&app.app_id.to_string(), &cert, GRAPH).await;
}
