//! The README's walkthrough, run for real: the `adsync` binary against a mock over HTTPS,
//! installation (which sets up the managed application) → sync cycle → rotation → rollback to
//! the service account → back to the application → removal of the legacy account, checking
//! what each command prints (with `--json`) and that errors exit non-zero.

use std::path::PathBuf;
use std::process::{Command, Output};

use mock_graph::testing::TestServer;

use crate::cli::adsync_binary;
use serde_json::Value;

const ADMIN: &str = "hybridadmin@contoso.onmicrosoft.com";

struct Cli {
    binary: PathBuf,
    url: String,
    ca: PathBuf,
    state: tempfile::TempDir,
}

impl Cli {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.binary)
            .args(["--authority", &self.url, "--json"])
            .args(args)
            .env("ADSYNC_STATE_DIR", self.state.path())
            .env("ADSYNC_CA_FILE", &self.ca)
            .env("ADSYNC_TPM", "none")
            .env("ADSYNC_ADMIN_PASSWORD", "Passw0rd!")
            .env_remove("ADSYNC_NOW")
            .output()
            .expect("run adsync")
    }

    /// Runs a command that must succeed and returns what it printed as JSON.
    fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "adsync {args:?} failed ({}): {stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&stdout).unwrap_or(Value::Null)
    }
}

/// The SHA-256 hashes (uppercase hex) of the certificates on the application `app_id`, read
/// from the tenant.
fn tenant_certificates(server: &TestServer, app_id: &str) -> Vec<String> {
    server.with_tenant(|t| {
        t.directory
            .applications
            .iter()
            .find(|a| a.app_id.to_string() == app_id)
            .map(|a| {
                a.key_credentials
                    .iter()
                    .filter_map(|k| k.key.as_deref())
                    .map(crate::cli::sha256_hex)
                    .collect()
            })
            .unwrap_or_default()
    })
}

// Multi-threaded: the CLI runs as a child process while the mock keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installation_rotation_rollback_and_back_through_the_cli() {
    let server = TestServer::start().await.unwrap();
    let cli = Cli {
        binary: adsync_binary().to_path_buf(),
        url: server.url.clone(),
        ca: server.ca_pem.clone().unwrap(),
        state: tempfile::tempdir().unwrap(),
    };

    // A new installation sets up the managed application and its certificate.
    let installed = cli.ok(&[
        "install",
        "--server-name",
        "AZCONNECT",
        "--sync-machine-identifier",
        "09e60dfc-16b6-4c1a-9d0e-5a1b2c3d4e5f",
        "--admin-upn",
        ADMIN,
    ]);
    assert_eq!(
        installed["ConnectorIdentityType"], "Application",
        "{installed}"
    );
    assert_eq!(
        installed["Certificate"]["CertificateManagedBy"], "Microsoft Entra Connect Sync",
        "{installed}"
    );
    let app_id = installed["ApplicationAppId"]
        .as_str()
        .expect("an application id")
        .to_string();
    let app_name = server.with_tenant(|t| {
        t.directory
            .applications
            .iter()
            .find(|a| a.app_id.to_string() == app_id)
            .map(|a| a.display_name.clone())
    });
    assert_eq!(
        app_name.as_deref(),
        Some("ConnectSyncProvisioning_AZCONNECT_09e60dfc16b6")
    );
    let legacy = "Sync_AZCONNECT_09e60dfc16b6@contoso.onmicrosoft.com";
    let has_user = |upn: &str| {
        server.with_tenant(|t| {
            t.directory
                .users
                .iter()
                .any(|u| u.user_principal_name.eq_ignore_ascii_case(upn))
        })
    };
    assert!(
        !has_user(legacy),
        "a new installation made the legacy account {legacy}"
    );

    // A command the server cannot do fails with a readable message.
    let refused = cli.run(&[
        "remove-entra-application-key",
        "--certificate-id",
        "00000000-0000-0000-0000-000000000000",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("adsync: error:"));

    let cycle = cli.ok(&["start-sync-cycle"]);
    assert_eq!(cycle["Succeeded"], true, "{cycle}");
    assert_eq!(cycle["Identity"], "Application", "{cycle}");

    let before =
        cli.ok(&["get-entra-connector-credential"])["Certificate"]["CertificateSHA256Hash"]
            .as_str()
            .expect("the installed connector's certificate")
            .to_string();
    assert_eq!(
        tenant_certificates(&server, &app_id),
        std::slice::from_ref(&before)
    );
    let rotated = cli.ok(&["invoke-application-credential-rotation"]);
    assert_eq!(rotated["Completed"], true, "{rotated}");
    assert_eq!(rotated["OldCredentialRemoved"], true, "{rotated}");
    // What the rotation printed is checked against the state read back and the tenant.
    let after = cli.ok(&["get-entra-connector-credential"])["Certificate"]["CertificateSHA256Hash"]
        .as_str()
        .expect("the rotated connector's certificate")
        .to_string();
    assert_ne!(
        after, before,
        "the connector still uses its old certificate"
    );
    assert_eq!(
        rotated["OldCertificateSha256Hash"],
        before.as_str(),
        "{rotated}"
    );
    assert_eq!(
        rotated["NewCertificateSha256Hash"],
        after.as_str(),
        "{rotated}"
    );
    assert_eq!(
        tenant_certificates(&server, &app_id),
        std::slice::from_ref(&after),
        "the application holds the new certificate only"
    );

    // Rollback, as documented: the service account is (re-)created.
    cli.ok(&["set-scheduler", "--sync-cycle-enabled", "false"]);
    cli.ok(&["add-aad-service-account", "--admin-upn", ADMIN]);
    assert!(has_user(legacy), "the rollback did not create {legacy}");
    let credential = cli.ok(&["get-entra-connector-credential"]);
    assert_eq!(
        credential["ConnectorIdentityType"], "ServiceAccount",
        "{credential}"
    );
    cli.ok(&["set-scheduler", "--sync-cycle-enabled", "true"]);
    let cycle = cli.ok(&["start-sync-cycle"]);
    assert_eq!(cycle["Identity"], "ServiceAccount", "{cycle}");
    assert_eq!(cycle["Succeeded"], true, "{cycle}");

    // Back to the application from the wizard's tasks, then the legacy account goes.
    let back = cli.ok(&["configure-application-authentication", "--admin-upn", ADMIN]);
    assert_eq!(back["ConnectorIdentityType"], "Application", "{back}");
    assert_eq!(back["ApplicationAppId"], app_id.as_str(), "{back}");
    let removed = cli.ok(&[
        "remove-aad-service-account",
        "--name",
        "Sync_AZCONNECT_09e60dfc16b6",
        "--admin-upn",
        ADMIN,
    ]);
    assert_eq!(removed["Action"], "Deleted", "{removed}");
    assert!(!has_user(legacy), "the tenant still has {legacy}");
    let cycle = cli.ok(&["start-sync-cycle"]);
    assert_eq!(cycle["Identity"], "Application", "{cycle}");
    assert_eq!(cycle["Succeeded"], true, "{cycle}");

    let events = cli.ok(&["get-events"]);
    let ids: Vec<i64> = events
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["Id"].as_i64())
        .collect();
    assert!(ids.contains(&1013), "a rotation event: {ids:?}");
    assert!(ids.contains(&1018), "identity change events: {ids:?}");
}
