//! Interop with a real Microsoft client: MSAL Python's ConfidentialClientApplication gets a
//! token from the mock over HTTPS with a certificate, in both of its assertion shapes (RS256 +
//! `x5t` when given a SHA-1 thumbprint; PS256 + `x5t#S256` + `x5c` when given the public
//! certificate), and sees Entra's error for an unregistered certificate.
//!
//! The Python environment comes from `cargo xtask setup` (env `MOCK_GRAPH_INTEROP_PYTHON`, or
//! `target/interop-venv`); without it the test skips with a line saying so.

use std::process::Command;

use mock_graph::testing::{TestCertificate, TestServer};
use serde_json::{Value, json};
use time::Duration;

use crate::support::claims;

const SCRIPT: &str = r#"
import json, sys
import msal

cfg = json.load(open(sys.argv[1]))
out = {}
for name, credential in cfg["cases"].items():
    app = msal.ConfidentialClientApplication(
        cfg["client_id"],
        authority=cfg["authority"],
        instance_discovery=False,
        client_credential=credential,
    )
    out[name] = app.acquire_token_for_client([cfg["scope"]])

# A Graph request authenticated by MSAL: read the application and its keyCredentials.
token = out["rs256_thumbprint"].get("access_token")
if token:
    import requests
    r = requests.get(
        cfg["graph_url"],
        headers={"Authorization": "Bearer " + token, "client-request-id": cfg["client_request_id"]},
    )
    out["graph"] = {"status": r.status_code, "headers": dict(r.headers), "body": r.json()}
print(json.dumps(out))
"#;

// Multi-threaded: the Python child is awaited synchronously while the server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_python_gets_tokens_with_a_certificate() {
    let Some(python) =
        prerequisites::interop_python("msal_interop::msal_python_gets_tokens_with_a_certificate")
    else {
        return;
    };
    let server = TestServer::start().await.unwrap();
    let now = server.with_tenant(|t| t.now());
    let (start, end) = (now - Duration::days(1), now + Duration::days(365));
    let cert = TestCertificate::generate(start, end).unwrap();
    let stranger = TestCertificate::generate(start, end).unwrap();
    let app = server.with_tenant(|t| {
        let r = t.register_application("MSAL interop");
        t.add_certificate(r.application_id, &cert.der, start, end)
            .unwrap();
        let graph = "00000003-0000-0000-c000-000000000000".parse().unwrap();
        t.assign_app_role(r.service_principal_id, graph, "Application.Read.All")
            .unwrap();
        r
    });
    let client_request_id = uuid::Uuid::new_v4().to_string();

    let dir = tempfile::tempdir().unwrap();
    let config = json!({
        "client_id": app.app_id.to_string(),
        "authority": format!("{}/{}", server.url, server.tenant_id),
        "scope": "https://graph.microsoft.com/.default",
        "graph_url": format!("{}/v1.0/applications(appId='{}')?$select=id,appId,keyCredentials", server.url, app.app_id),
        "client_request_id": client_request_id,
        "cases": {
            "rs256_thumbprint": {"private_key": cert.private_key_pem().unwrap(), "thumbprint": cert.sha1_hex()},
            "ps256_public_certificate": {"private_key": cert.private_key_pem().unwrap(), "public_certificate": cert.certificate_pem()},
            "unregistered": {"private_key": stranger.private_key_pem().unwrap(), "thumbprint": stranger.sha1_hex()},
        },
    });
    let config_path = dir.path().join("config.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let script_path = dir.path().join("interop.py");
    std::fs::write(&script_path, SCRIPT).unwrap();
    let ca = server.ca_pem.clone().unwrap();

    // requests reads its trust store from these variables, which win over MSAL's `verify=`.
    let output = Command::new(&python)
        .arg(&script_path)
        .arg(&config_path)
        .env("REQUESTS_CA_BUNDLE", &ca)
        .env("CURL_CA_BUNDLE", &ca)
        .env("SSL_CERT_FILE", &ca)
        .env_remove("MSAL_FORCE_REGION")
        .output()
        .expect("run the interop Python");
    assert!(
        output.status.success(),
        "MSAL Python failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Value = serde_json::from_slice(&output.stdout).expect("the script prints JSON");

    for case in ["rs256_thumbprint", "ps256_public_certificate"] {
        let r = &results[case];
        let token = r["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{case}: no token: {r}"));
        let claims = claims(token);
        assert_eq!(claims["appid"], app.app_id.to_string(), "{case}");
        assert_eq!(claims["appidacr"], "2", "{case}");
        assert_eq!(claims["aud"], "https://graph.microsoft.com", "{case}");
    }
    let graph = &results["graph"];
    assert_eq!(graph["status"], 200, "{graph}");
    assert_eq!(graph["body"]["appId"], app.app_id.to_string(), "{graph}");
    assert_eq!(
        graph["headers"]["client-request-id"],
        client_request_id.as_str(),
        "{graph}"
    );
    let keys = graph["body"]["keyCredentials"]
        .as_array()
        .expect("keyCredentials selected");
    assert_eq!(keys.len(), 1, "{graph}");
    assert_eq!(keys[0]["type"], "AsymmetricX509Cert");
    assert_eq!(keys[0]["usage"], "Verify");
    let key_b64 = keys[0]["key"]
        .as_str()
        .expect("key is returned when selected on one object");
    use base64::Engine;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(key_b64)
            .unwrap(),
        cert.der
    );

    let refused = &results["unregistered"];
    assert_eq!(refused["error"], "invalid_client", "{refused}");
    assert_eq!(refused["error_codes"], json!([700027]), "{refused}");
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("The key was not found."),
        "an unregistered certificate is not found: {refused}"
    );
}
