//! Interop with a real Microsoft client for Node.js: MSAL Node's ConfidentialClientApplication
//! gets a token from the mock over HTTPS in every certificate shape it sends (PS256 +
//! `x5t#S256` with and without `x5c` for a SHA-256 thumbprint, RS256 + `x5t` for the deprecated
//! SHA-1 one), its PublicClientApplication signs a user in with a password, and Entra's
//! refusals reach it as MSAL Node reads them: `errorCode`, `errorNo`, and the
//! `InteractionRequiredAuthError` that the `user_password_expired` suberror makes.
//!
//! Node.js and `@azure/msal-node` come from `cargo xtask setup` (`target/interop-node`, or
//! `MOCK_GRAPH_INTEROP_NODE_MODULES` and `MOCK_GRAPH_INTEROP_NODE`); without them the test
//! skips with a line saying so, or fails under `ENTRA_TESTS_REQUIRE_ALL`.

use std::process::Command;

use base64::Engine;
use mock_graph::testing::{TestCertificate, TestServer};
use serde_json::{Value, json};
use time::Duration;

use crate::support::claims;

/// Microsoft Graph Command Line Tools: a public client the default fixture has consented to.
const GRAPH_CLI: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

const SCRIPT: &str = r#"
const fs = require("fs");
const msal = require("@azure/msal-node");

// The test never leaves the machine: MSAL Node's requests go through the global fetch.
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
  if (url.hostname !== "127.0.0.1") {
    return Promise.reject(new Error("refused to leave the machine: " + url));
  }
  return realFetch(input, init);
};

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const auth = { authority: cfg.authority, knownAuthorities: [cfg.host] };

function refusal(e) {
  return {
    name: e.name,
    errorCode: e.errorCode,
    errorNo: e.errorNo === undefined ? null : String(e.errorNo),
    subError: e.subError || "",
    status: e.status === undefined ? null : e.status,
    message: e.message,
  };
}

async function main() {
  const out = {};
  for (const [name, clientCertificate] of Object.entries(cfg.cases)) {
    const app = new msal.ConfidentialClientApplication({
      auth: { ...auth, clientId: cfg.client_id, clientCertificate },
    });
    try {
      const r = await app.acquireTokenByClientCredential({ scopes: [cfg.scope] });
      out[name] = { accessToken: r.accessToken, tokenType: r.tokenType };
    } catch (e) {
      out[name] = refusal(e);
    }
  }
  for (const [name, user] of Object.entries(cfg.users)) {
    const app = new msal.PublicClientApplication({
      auth: { ...auth, clientId: cfg.public_client_id },
    });
    try {
      const r = await app.acquireTokenByUsernamePassword({
        scopes: [cfg.scope],
        username: user.username,
        password: user.password,
      });
      out[name] = {
        accessToken: r.accessToken,
        username: r.account ? r.account.username : null,
        tenantId: r.tenantId,
      };
    } catch (e) {
      out[name] = refusal(e);
    }
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
"#;

/// The SHA-256 thumbprint in hex, as MSAL Node takes it.
fn sha256_hex(cert: &TestCertificate) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cert.x5t_s256())
        .expect("base64url")
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

// Multi-threaded: the Node child is awaited synchronously while the server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_node_gets_tokens_in_every_shape_and_reads_entras_refusals() {
    let Some(node) = prerequisites::interop_node(
        "msal_node_interop::msal_node_gets_tokens_in_every_shape_and_reads_entras_refusals",
    ) else {
        return;
    };
    let server = TestServer::start().await.unwrap();
    let now = server.with_tenant(|t| t.now());
    let (start, end) = (now - Duration::days(1), now + Duration::days(365));
    let cert = TestCertificate::generate(start, end).unwrap();
    let stranger = TestCertificate::generate(start, end).unwrap();
    let app = server.with_tenant(|t| {
        let r = t.register_application("MSAL Node interop");
        t.add_certificate(r.application_id, &cert.der, start, end)
            .unwrap();
        let graph = "00000003-0000-0000-c000-000000000000".parse().unwrap();
        t.assign_app_role(r.service_principal_id, graph, "Application.Read.All")
            .unwrap();
        // A user who must change the password at next sign-in (AADSTS50055).
        let user = t
            .directory
            .users
            .iter_mut()
            .find(|u| u.user_principal_name.starts_with("user@"))
            .expect("the default fixture's ordinary user");
        user.password_profile.force_change_password_next_sign_in = true;
        r
    });
    let host = server
        .url
        .strip_prefix("https://")
        .expect("an https URL")
        .to_string();
    let key = cert.private_key_pem().unwrap();
    let config = json!({
        "authority": format!("{}/{}", server.url, server.tenant_id),
        "host": host,
        "client_id": app.app_id.to_string(),
        "public_client_id": GRAPH_CLI,
        "scope": "https://graph.microsoft.com/.default",
        "cases": {
            "ps256_sha256_with_x5c": {"thumbprintSha256": sha256_hex(&cert), "privateKey": key, "x5c": cert.certificate_pem()},
            "ps256_sha256": {"thumbprintSha256": sha256_hex(&cert), "privateKey": key},
            "rs256_sha1": {"thumbprint": cert.sha1_hex(), "privateKey": key},
            "unregistered": {"thumbprintSha256": sha256_hex(&stranger), "privateKey": stranger.private_key_pem().unwrap()},
        },
        "users": {
            "admin": {"username": "admin@contoso.onmicrosoft.com", "password": "Passw0rd!"},
            "wrong_password": {"username": "admin@contoso.onmicrosoft.com", "password": "not-the-password"},
            "must_change_password": {"username": "user@contoso.onmicrosoft.com", "password": "Passw0rd!"},
        },
    });
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let script_path = dir.path().join("interop.cjs");
    std::fs::write(&script_path, SCRIPT).unwrap();
    let ca = server.ca_pem.clone().unwrap();

    let output = Command::new(&node.node)
        .arg(&script_path)
        .arg(&config_path)
        // Node reads the extra CA at start; `require` finds msal-node through NODE_PATH.
        .env("NODE_EXTRA_CA_CERTS", &ca)
        .env("NODE_PATH", &node.node_modules)
        .output()
        .expect("run node");
    assert!(
        output.status.success(),
        "MSAL Node failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Value = serde_json::from_slice(&output.stdout).expect("the script prints JSON");

    for case in ["ps256_sha256_with_x5c", "ps256_sha256", "rs256_sha1"] {
        let r = &results[case];
        let token = r["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("{case}: no token: {r}"));
        let c = claims(token);
        assert_eq!(c["appid"], app.app_id.to_string(), "{case}");
        assert_eq!(c["appidacr"], "2", "{case}");
        assert_eq!(c["roles"], json!(["Application.Read.All"]), "{case}");
        assert_eq!(r["tokenType"], "Bearer", "{case}");
    }

    // Entra's refusals as MSAL Node surfaces them.
    let refused = &results["unregistered"];
    assert_eq!(refused["errorCode"], "invalid_client", "{refused}");
    assert_eq!(refused["errorNo"], "700027", "{refused}");
    assert_eq!(refused["status"], 401, "{refused}");
    let wrong = &results["wrong_password"];
    assert_eq!(wrong["errorCode"], "invalid_grant", "{wrong}");
    assert_eq!(wrong["errorNo"], "50126", "{wrong}");
    // MSAL Node leaves `status` unset on its username-password path (the 400 is checked in
    // features/token_endpoint.feature).
    let expired = &results["must_change_password"];
    assert_eq!(expired["name"], "InteractionRequiredAuthError", "{expired}");
    assert_eq!(expired["subError"], "user_password_expired", "{expired}");
    assert_eq!(expired["errorNo"], "50055", "{expired}");

    // A delegated token for the administrator, and MSAL Node's account from the answer.
    let admin = &results["admin"];
    let token = admin["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("ROPC: no token: {admin}"));
    let c = claims(token);
    assert_eq!(c["appid"], GRAPH_CLI, "{admin}");
    assert!(c["scp"].as_str().is_some_and(|s| !s.is_empty()), "{c}");
    assert_eq!(
        admin["username"], "admin@contoso.onmicrosoft.com",
        "{admin}"
    );
    assert_eq!(admin["tenantId"], server.tenant_id.to_string(), "{admin}");
}
