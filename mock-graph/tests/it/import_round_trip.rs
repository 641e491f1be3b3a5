//! `mock-graph import` against the mock itself (it speaks Graph): the tenant read through Graph
//! with an administrator's token becomes a fixture, and a mock serving that fixture answers the
//! same Graph reads. Throttling is waited out; a token that may not read a collection stops the
//! import naming the permission it lacks; nothing secret is written.

use crate::support::*;
use mock_graph::core::fixture::TenantFixture;
use mock_graph::import::{ImportError, ImportSource, import};
use serde_json::{Value, json};

/// The Graph reads that must answer the same from the imported tenant.
const READS: &[&str] = &[
    "/v1.0/applications",
    "/v1.0/servicePrincipals",
    "/v1.0/users",
    "/v1.0/oauth2PermissionGrants",
    "/v1.0/roleManagement/directory/roleAssignments",
];

async fn values(env: &Env, token: &str, path: &str) -> Value {
    let a = env.call("GET", path, Some(token), None).await;
    a.assert_status(200)["value"].clone()
}

#[tokio::test]
async fn an_imported_tenant_answers_the_same_graph_reads() {
    let env = Env::start().await;
    let cert = TestCert::new("imported");
    let app = env.register_app("Imported", &cert);
    let admin = env.user_token("admin").await;
    // Throttled once: the import waits Retry-After out and goes on.
    env.call(
        "POST",
        &format!("/_mock/tenants/{}/faults", env.server.tenant_id),
        None,
        Some(json!({"match": {"operation": "applications.list"}, "status": 429, "retry_after": 1, "count": 1})),
    )
    .await
    .assert_status(201);

    let source = ImportSource {
        graph: env.server.url.clone(),
        token: admin.clone(),
        http: env.http.clone(),
        // Small pages, so that every large collection is read over several.
        page_size: 2,
    };
    let fixture = import(&source).await.expect("import");
    let journal = env
        .call(
            "GET",
            &format!("/_mock/tenants/{}/requests", env.server.tenant_id),
            None,
            None,
        )
        .await;
    let statuses = |operation: &str| -> Vec<Value> {
        journal.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["operation"] == operation)
            .map(|e| e["status"].clone())
            .collect()
    };
    assert_eq!(
        statuses("applications.list"),
        [429, 200],
        "throttled, then read"
    );
    // Six service principals in pages of two.
    assert_eq!(statuses("servicePrincipals.list"), [200, 200, 200]);
    assert!(!fixture["applications"].as_array().unwrap().is_empty());
    let text = fixture.to_string();
    assert!(!text.contains(PASSWORD), "no password written");
    assert!(!text.contains("PRIVATE KEY"));
    assert!(!text.contains("secretText"));

    let imported = Env::with(TenantFixture::from_json(&text).expect("loads")).await;
    // Graph gives out no password: a test gives the administrator one, as a user would.
    imported.server.with_tenant(|t| {
        let admin = t
            .directory
            .users
            .iter_mut()
            .find(|u| u.user_principal_name.starts_with("admin@"))
            .unwrap();
        admin.password_profile.password = PASSWORD.to_string();
    });
    let imported_admin = imported.user_token("admin").await;
    for path in READS {
        assert_eq!(
            values(&imported, &imported_admin, path).await,
            values(&env, &admin, path).await,
            "{path}"
        );
    }
    // The certificate's public part came along, and signs in as before.
    let keys = format!(
        "/v1.0/applications/{}?$select=keyCredentials",
        app.application_id
    );
    let (a, b) = (
        imported
            .call("GET", &keys, Some(&imported_admin), None)
            .await,
        env.call("GET", &keys, Some(&admin), None).await,
    );
    assert_eq!(
        a.assert_status(200)["keyCredentials"],
        b.body["keyCredentials"]
    );
    assert!(a.body["keyCredentials"][0]["key"].is_string());
    imported
        .app_token(
            &app.app_id.to_string(),
            &cert,
            "https://graph.microsoft.com",
        )
        .await;
}

#[tokio::test]
async fn a_token_without_the_permission_stops_the_import_naming_it() {
    let env = Env::start().await;
    // An application token without any Graph permission.
    let cert = TestCert::new("unprivileged");
    let app = env.register_app("Unprivileged", &cert);
    let token = env
        .app_token(
            &app.app_id.to_string(),
            &cert,
            "https://graph.microsoft.com",
        )
        .await;
    let source = ImportSource {
        graph: env.server.url.clone(),
        token,
        http: env.http.clone(),
        page_size: 999,
    };
    let error = import(&source).await.expect_err("refused");
    assert!(matches!(error, ImportError::Refused { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("Authorization_RequestDenied"), "{message}");
    assert!(message.contains(".Read."), "{message}");
}

/// The command: the token from the environment variable it names (never an argument), the
/// mock's CA trusted with `--ca-pem`, the fixture written where `--out` says.
#[tokio::test]
async fn the_command_writes_a_fixture_that_loads() {
    let env = Env::start().await;
    let admin = env.user_token("admin").await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tenant.json");
    let ca = env.server.ca_pem.clone().unwrap();
    let run = |token: Option<&str>| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mock-graph"));
        cmd.args(["import", "--graph", &env.server.url, "--token-env"])
            .arg("IMPORT_TEST_TOKEN")
            .arg("--out")
            .arg(&out)
            .arg("--ca-pem")
            .arg(&ca)
            .env_remove("IMPORT_TEST_TOKEN");
        if let Some(t) = token {
            cmd.env("IMPORT_TEST_TOKEN", t);
        }
        cmd.output()
    };
    let missing = run(None).await.unwrap();
    assert!(!missing.status.success());
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(said.contains("IMPORT_TEST_TOKEN holds no token"), "{said}");
    assert!(!out.exists());

    let done = run(Some(&admin)).await.unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let fixture = TenantFixture::from_json(&text).expect("the written fixture loads");
    assert_eq!(fixture.tenant.id, env.server.tenant_id);
    assert!(!text.contains(&admin), "the token is not written");
}
