//! The README's walkthrough, run for real: the `adsync` binary against a mock over HTTPS,
//! onboarding → sync cycle → rotation → removal of the legacy account → rollback, checking
//! what each command prints (with `--json`) and that errors exit non-zero.

use std::path::PathBuf;
use std::process::{Command, Output};

use mock_graph::testing::TestServer;
use serde_json::Value;

const ADMIN: &str = "hybridadmin@contoso.onmicrosoft.com";

/// The `adsync` binary next to this test's own directory, built if it is not there yet.
fn adsync_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let binary = profile_dir.join("adsync");
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "adsync-client", "--bin", "adsync"])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cannot build adsync");
    }
    binary
}

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

// Multi-threaded: the CLI runs as a child process while the mock keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_rotation_and_rollback_through_the_cli() {
    let server = TestServer::start().await.unwrap();
    let cli = Cli {
        binary: adsync_binary(),
        url: server.url.clone(),
        ca: server.ca_pem.clone().unwrap(),
        state: tempfile::tempdir().unwrap(),
    };

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
        installed["ConnectorIdentityType"], "ServiceAccount",
        "{installed}"
    );

    // A command against a connector that is not onboarded yet fails with a readable message.
    let refused = cli.run(&[
        "remove-entra-application-key",
        "--certificate-id",
        "00000000-0000-0000-0000-000000000000",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("adsync: error:"));

    cli.ok(&["set-scheduler", "--sync-cycle-enabled", "false"]);
    let onboarded = cli.ok(&["configure-application-authentication", "--admin-upn", ADMIN]);
    assert_eq!(
        onboarded["ConnectorIdentityType"], "Application",
        "{onboarded}"
    );
    let app_id = onboarded["ApplicationAppId"]
        .as_str()
        .expect("an application id")
        .to_string();
    let app_name = server.with_tenant(|t| {
        t.applications
            .iter()
            .find(|a| a.app_id.to_string() == app_id)
            .map(|a| a.display_name.clone())
    });
    assert_eq!(
        app_name.as_deref(),
        Some("ConnectSyncProvisioning_AZCONNECT_09e60dfc16b6")
    );
    cli.ok(&["set-scheduler", "--sync-cycle-enabled", "true"]);

    let cycle = cli.ok(&["start-sync-cycle"]);
    assert_eq!(cycle["Succeeded"], true, "{cycle}");
    assert_eq!(cycle["Identity"], "Application", "{cycle}");

    let rotated = cli.ok(&["invoke-application-credential-rotation"]);
    assert_eq!(rotated["Completed"], true, "{rotated}");
    assert_eq!(rotated["OldCredentialRemoved"], true, "{rotated}");
    assert_ne!(
        rotated["OldCertificateSha256Hash"],
        rotated["NewCertificateSha256Hash"]
    );
    let keys = server.with_tenant(|t| {
        t.applications
            .iter()
            .find(|a| a.app_id.to_string() == app_id)
            .map(|a| a.key_credentials.len())
    });
    assert_eq!(keys, Some(1), "the old credential left the application");

    let removed = cli.ok(&[
        "remove-aad-service-account",
        "--name",
        "Sync_AZCONNECT_09e60dfc16b6",
        "--admin-upn",
        ADMIN,
    ]);
    assert_eq!(removed["Action"], "Deleted", "{removed}");

    cli.ok(&["set-scheduler", "--sync-cycle-enabled", "false"]);
    cli.ok(&["add-aad-service-account", "--admin-upn", ADMIN]);
    let credential = cli.ok(&["get-entra-connector-credential"]);
    assert_eq!(
        credential["ConnectorIdentityType"], "ServiceAccount",
        "{credential}"
    );
    cli.ok(&["set-scheduler", "--sync-cycle-enabled", "true"]);
    let cycle = cli.ok(&["start-sync-cycle"]);
    assert_eq!(cycle["Identity"], "ServiceAccount", "{cycle}");
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
