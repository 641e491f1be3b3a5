//! The shipped edge-case fixtures (`fixtures/*.json`, keys in `fixtures/keys/`): each loads,
//! holds the edge case it is named after, and its test-only private keys sign as documented.
//! `generate_fixtures` (ignored) wrote them once: `cargo test -p mock-graph --test it
//! -- --ignored graph_fixtures::generate_fixtures`.

use std::path::PathBuf;

use crate::support::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mock_graph::core::fixture::TenantFixture;
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const FROZEN_AT: OffsetDateTime = datetime!(2026-06-01 0:00 UTC);
const SYNC_APP_ID: &str = "5c000000-0000-4000-8000-0000000000a1";
const SYNC_APP_OBJECT: &str = "5c000000-0000-4000-8000-0000000000b1";
const SYNC_SP_OBJECT: &str = "5c000000-0000-4000-8000-0000000000c1";
const SYNC_APP_NAME: &str = "ConnectSyncProvisioning_SYNC01_0123456789ab";

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn unpem(text: &str) -> Vec<u8> {
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

/// The certificate and key shipped as `fixtures/keys/{name}.{crt,key}.pem`.
fn shipped(name: &str) -> TestCert {
    let dir = fixtures_dir().join("keys");
    let der = unpem(&std::fs::read_to_string(dir.join(format!("{name}.crt.pem"))).unwrap());
    let key = unpem(&std::fs::read_to_string(dir.join(format!("{name}.key.pem"))).unwrap());
    TestCert::from_parts(der, key)
}

fn load(name: &str) -> TenantFixture {
    TenantFixture::from_json(
        &std::fs::read_to_string(fixtures_dir().join(format!("{name}.json"))).unwrap(),
    )
    .unwrap()
}

fn key_credential(cert: &TestCert, display: &str, nb: OffsetDateTime, na: OffsetDateTime) -> Value {
    let thumb = mock_graph::core::ids::Thumbprint::sha1_of(&cert.der);
    json!({
        "keyId": uuid::Uuid::new_v4(),
        "customKeyIdentifier": STANDARD.encode(thumb.as_bytes()),
        "displayName": display,
        "startDateTime": rfc3339(nb),
        "endDateTime": rfc3339(na),
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
        "key": cert.key_b64(),
    })
}

/// The default fixture turned into tenant `id`/`domain` with a Connect Sync application that
/// holds `keys` and the sync and password-writeback roles.
fn tenant_with_sync_app(id: &str, name: &str, domain: &str, keys: Vec<Value>) -> Value {
    let mut f: Value =
        serde_json::from_str(mock_graph::core::fixture::DEFAULT_FIXTURE_JSON).unwrap();
    f["tenant"] =
        json!({"id": id, "displayName": name, "initialDomain": domain, "cloud": "global"});
    f["clock"] = json!({"now": rfc3339(FROZEN_AT), "frozen": true});
    for u in f["users"].as_array_mut().unwrap() {
        let upn = u["userPrincipalName"]
            .as_str()
            .unwrap()
            .replace("contoso.onmicrosoft.com", domain);
        u["userPrincipalName"] = json!(upn);
    }
    f["applications"] = json!([{
        "id": SYNC_APP_OBJECT,
        "appId": SYNC_APP_ID,
        "displayName": SYNC_APP_NAME,
        "signInAudience": "AzureADMyOrg",
        "createdDateTime": rfc3339(FROZEN_AT - Duration::days(216)),
        "keyCredentials": keys,
        "requiredResourceAccess": [
            {"resourceAppId": SYNC_SERVICE, "resourceAccess": [{"id": "0b41ed4d-5f52-442b-8952-ea7d90719860", "type": "Role"}]},
            {"resourceAppId": PASSWORD_RESET, "resourceAccess": [
                {"id": "69201c67-737b-4a20-8f16-e0c8c64e0b0e", "type": "Role"},
                {"id": "e006e431-a65b-4f3e-8808-77d29d4c5f1a", "type": "Role"},
                {"id": "fc7e8088-95b5-453e-8bef-b17ecfec5ba3", "type": "Role"}
            ]}
        ]
    }]);
    f["servicePrincipals"].as_array_mut().unwrap().push(json!({
        "id": SYNC_SP_OBJECT,
        "appId": SYNC_APP_ID,
        "displayName": SYNC_APP_NAME,
        "appOwnerOrganizationId": id,
        "servicePrincipalNames": [SYNC_APP_ID]
    }));
    let grants = [
        (
            "c0000000-0000-4000-8000-000000000002",
            "Microsoft Entra AD Synchronization Service",
            "0b41ed4d-5f52-442b-8952-ea7d90719860",
        ),
        (
            "c0000000-0000-4000-8000-000000000003",
            "Microsoft password reset service",
            "69201c67-737b-4a20-8f16-e0c8c64e0b0e",
        ),
        (
            "c0000000-0000-4000-8000-000000000003",
            "Microsoft password reset service",
            "e006e431-a65b-4f3e-8808-77d29d4c5f1a",
        ),
        (
            "c0000000-0000-4000-8000-000000000003",
            "Microsoft password reset service",
            "fc7e8088-95b5-453e-8bef-b17ecfec5ba3",
        ),
    ];
    f["appRoleAssignments"] = Value::Array(
        grants
            .iter()
            .enumerate()
            .map(|(i, (res, res_name, role))| {
                json!({
                    "id": format!("sync-app-grant-{i}"),
                    "principalId": SYNC_SP_OBJECT,
                    "principalType": "ServicePrincipal",
                    "principalDisplayName": SYNC_APP_NAME,
                    "resourceId": res,
                    "resourceDisplayName": res_name,
                    "appRoleId": role,
                    "createdDateTime": rfc3339(FROZEN_AT - Duration::days(216)),
                })
            })
            .collect(),
    );
    f
}

fn write(name: &str, fixture: &Value) {
    let text = serde_json::to_string_pretty(fixture).unwrap() + "\n";
    TenantFixture::from_json(&text).unwrap();
    std::fs::write(fixtures_dir().join(format!("{name}.json")), text).unwrap();
}

fn write_key(name: &str, cert: &TestCert) {
    let dir = fixtures_dir().join("keys");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{name}.crt.pem")),
        pem("CERTIFICATE", &cert.der),
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("{name}.key.pem")),
        pem("PRIVATE KEY", &cert.pkcs8),
    )
    .unwrap();
}

#[test]
#[ignore = "writes the shipped fixtures; run once by hand"]
fn generate_fixtures() {
    let cn = "Entra Connect Sync Provisioning";
    let (nb, na) = (
        FROZEN_AT - Duration::days(216),
        FROZEN_AT + Duration::days(149),
    );
    let expiring = TestCert::valid(cn, nb, na);
    write_key("expiring-149-days", &expiring);
    let keys = vec![key_credential(&expiring, &format!("CN={cn}"), nb, na)];
    write(
        "expiring-149-days",
        &tenant_with_sync_app(
            "e1490000-0000-4000-8000-000000000149",
            "Contoso (expiring certificate)",
            "contoso-expiring.onmicrosoft.com",
            keys,
        ),
    );

    let (nb, na) = (
        FROZEN_AT - Duration::days(400),
        FROZEN_AT - Duration::days(35),
    );
    let expired = TestCert::valid(cn, nb, na);
    write_key("expired-certificate", &expired);
    let keys = vec![key_credential(&expired, &format!("CN={cn}"), nb, na)];
    write(
        "expired-certificate",
        &tenant_with_sync_app(
            "e0e00000-0000-4000-8000-0000000000e0",
            "Contoso (expired certificate)",
            "contoso-expired.onmicrosoft.com",
            keys,
        ),
    );

    let (nb, na) = (
        FROZEN_AT - Duration::days(30),
        FROZEN_AT + Duration::days(335),
    );
    let own = TestCert::valid(cn, nb, na);
    let (fnb, fna) = (
        FROZEN_AT - Duration::days(2),
        FROZEN_AT + Duration::days(363),
    );
    let foreign = TestCert::valid("Contoso Helpdesk Automation", fnb, fna);
    write_key("foreign-credential-sync", &own);
    write_key("foreign-credential-foreign", &foreign);
    let keys = vec![
        key_credential(&own, &format!("CN={cn}"), nb, na),
        key_credential(&foreign, "CN=Contoso Helpdesk Automation", fnb, fna),
    ];
    write(
        "foreign-credential",
        &tenant_with_sync_app(
            "f0e10000-0000-4000-8000-0000000000f1",
            "Contoso (foreign credential)",
            "contoso-foreign.onmicrosoft.com",
            keys,
        ),
    );

    let usgov_cert = TestCert::valid(cn, nb, na);
    write_key("usgov", &usgov_cert);
    let keys = vec![key_credential(&usgov_cert, &format!("CN={cn}"), nb, na)];
    let mut gov = tenant_with_sync_app(
        "05900000-0000-4000-8000-000000000005",
        "Contoso Government",
        "contosogov.onmicrosoft.us",
        keys,
    );
    gov["tenant"]["cloud"] = json!("usgov");
    for sp in gov["servicePrincipals"].as_array_mut().unwrap() {
        if sp["appId"] == PASSWORD_RESET {
            sp["appId"] = json!("2e5ecfc8-ea79-48bd-8140-c19324acb278");
            sp["servicePrincipalNames"] = json!(["2e5ecfc8-ea79-48bd-8140-c19324acb278"]);
        }
        if sp["appId"] == GRAPH {
            sp["servicePrincipalNames"] = json!([
                "https://graph.microsoft.us",
                "https://graph.microsoft.us/",
                GRAPH
            ]);
        }
    }
    for r in gov["applications"][0]["requiredResourceAccess"]
        .as_array_mut()
        .unwrap()
    {
        if r["resourceAppId"] == PASSWORD_RESET {
            r["resourceAppId"] = json!("2e5ecfc8-ea79-48bd-8140-c19324acb278");
        }
    }
    write("usgov", &gov);
}

#[tokio::test]
async fn expiring_in_149_days() {
    let f = load("expiring-149-days");
    let env = Env::with(f).await;
    assert_eq!(env.now(), FROZEN_AT);
    let end = env
        .server
        .with_tenant(|t| t.directory.applications[0].key_credentials[0].end_date_time);
    assert_eq!(end - env.now(), Duration::days(149));
    let token = env
        .app_token(SYNC_APP_ID, &shipped("expiring-149-days"), SYNC_SERVICE)
        .await;
    assert_eq!(
        claims(&token)["roles"],
        json!(["ADSynchronization.ReadWrite.All"])
    );
    let admin = env
        .user_token("admin@contoso-expiring.onmicrosoft.com")
        .await;
    let app = env
        .call(
            "GET",
            &format!("/v1.0/applications(appId='{SYNC_APP_ID}')?$select=keyCredentials"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        app.assert_status(200)["keyCredentials"][0]["endDateTime"],
        "2026-10-28T00:00:00Z"
    );
}

#[tokio::test]
async fn expired_certificate() {
    let env = Env::with(load("expired-certificate")).await;
    let refused = env
        .app_token_answer(SYNC_APP_ID, &shipped("expired-certificate"), SYNC_SERVICE)
        .await;
    assert_eq!(refused["error_codes"], json!([700027]));
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{refused:#}"
    );
}

#[tokio::test]
async fn foreign_credential() {
    let env = Env::with(load("foreign-credential")).await;
    let creds = env
        .server
        .with_tenant(|t| t.directory.applications[0].key_credentials.len());
    assert_eq!(creds, 2);
    // Whoever holds the foreign key acts as the sync application.
    let token = env
        .app_token(
            SYNC_APP_ID,
            &shipped("foreign-credential-foreign"),
            SYNC_SERVICE,
        )
        .await;
    assert_eq!(
        claims(&token)["roles"],
        json!(["ADSynchronization.ReadWrite.All"])
    );
    env.app_token(
        SYNC_APP_ID,
        &shipped("foreign-credential-sync"),
        SYNC_SERVICE,
    )
    .await;
}

#[tokio::test]
async fn us_government_cloud() {
    let env = Env::with(load("usgov")).await;
    let cert = shipped("usgov");
    let token = env
        .app_token(SYNC_APP_ID, &cert, "2e5ecfc8-ea79-48bd-8140-c19324acb278")
        .await;
    let mut roles = claims(&token)["roles"].as_array().unwrap().clone();
    roles.sort_by_key(|r| r.as_str().unwrap().to_string());
    assert_eq!(roles.len(), 3);
    // The password-writeback model answers for the cloud's own resource.
    env.call(
        "POST",
        "/passwordwriteback/v1/registerClientVersion",
        Some(&token),
        Some(json!({"clientVersion": "2.5.79.0"})),
    )
    .await
    .assert_status(200);
    let admin = env
        .user_token_for(
            "admin@contosogov.onmicrosoft.us",
            "https://graph.microsoft.us/.default",
        )
        .await;
    assert_eq!(claims(&admin)["aud"], "https://graph.microsoft.us");
    env.call("GET", "/v1.0/organization", Some(&admin), None)
        .await
        .assert_status(200);
}
