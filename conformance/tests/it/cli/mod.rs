//! The real `adsync` binary as an administrator runs it, against an in-process mock over HTTPS:
//! the binary cargo builds for this test's profile, a mock tenant with a frozen clock that the
//! test moves together with the client's (`--now`), a state directory per server, and the
//! state directory read whole so a refused command can be shown to have changed nothing.
//! `pki` plays an administrator's CA with the `openssl` command.
//!
//! Shared by the CLI test modules; each uses part of it.

pub mod pki;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use mock_graph::core::clock::VirtualClock;
use mock_graph::core::tenant::Tenant;
use mock_graph::testing::TestServer;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// The administrator of the default fixture, with the fixture password.
pub const ADMIN: &str = "hybridadmin@contoso.onmicrosoft.com";
pub const PASSWORD: &str = "Passw0rd!";
/// The synchronization service and the password reset service (global cloud).
pub const SYNC_SERVICE: &str = "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016";
pub const PASSWORD_RESET: &str = "93625bc8-bfe2-437a-97e0-3d0060024faa";

/// The `adsync` binary as cargo builds it now, for this test's profile and target directory.
///
/// `CARGO_BIN_EXE_<name>` only exists for binaries of the test's own package, and `adsync` is
/// `adsync-client`'s; a binary found next to this test could be left over from an older build
/// (`cargo test --test <name>` does not build other packages' binaries). So the test asks
/// cargo to build it (a no-op when it is fresh) with the same profile and target directory,
/// once per test binary, and runs the executable cargo reports for it. It is built as a member
/// of the whole workspace (`--workspace --bin adsync`), whose features `cargo test` at the root
/// unifies too, so the dependencies the suite already built are reused.
pub fn adsync_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build_adsync)
}

fn build_adsync() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // <target-dir>[/<triple>]/<profile>/deps/<test>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a profile directory name");
    let above = profile_dir.parent().expect("the target directory");
    // The target directory's root holds CACHEDIR.TAG; otherwise `above` is `<target-dir>/<triple>`.
    let (target_dir, triple) = if above.join("CACHEDIR.TAG").exists() {
        (above.to_path_buf(), None)
    } else {
        let root = above.parent().expect("the target directory");
        (
            root.to_path_buf(),
            above.file_name().and_then(|n| n.to_str()),
        )
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--workspace", "--bin", "adsync"])
        .args(["--message-format", "json-render-diagnostics"])
        .arg("--target-dir")
        .arg(&target_dir)
        .args([
            "--profile",
            match profile {
                "debug" => "dev",
                other => other,
            },
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(std::process::Stdio::inherit());
    if let Some(triple) = triple {
        command.args(["--target", triple]);
    }
    let out = command.output().expect("run cargo build");
    assert!(out.status.success(), "cannot build adsync: {}", out.status);
    let executable = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "adsync")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the adsync executable it built");
    assert!(
        executable.exists(),
        "{} does not exist",
        executable.display()
    );
    executable
}

/// One mock tenant (its own HTTPS server, on a runtime of its own so it keeps serving while
/// the test waits for the binary) and the clock the tenant and every `adsync` run share.
pub struct MockTenant {
    /// Kept alive: the mock serves on it.
    _runtime: tokio::runtime::Runtime,
    pub mock: TestServer,
    now: Mutex<OffsetDateTime>,
}

/// The scenario's world: a tenant, and the servers (state directories) run against it.
pub struct World {
    tenant: MockTenant,
}

/// One sync server: its state directory, its TPM setting and any environment of its own.
pub struct Server<'w> {
    world: &'w World,
    pub state: tempfile::TempDir,
    tpm: String,
}

/// What one run of the binary did.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn of(out: Output) -> Self {
        Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The JSON the command printed (`Null` when it printed none).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or(Value::Null)
    }
}

impl World {
    /// A fresh tenant from the default fixture, its clock frozen at the current second.
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let mock = runtime
            .block_on(TestServer::start())
            .expect("the mock starts");
        let now = mock.with_tenant(|t| {
            let now = t.now().replace_nanosecond(0).unwrap_or_else(|_| t.now());
            t.clock = VirtualClock::frozen(now);
            now
        });
        Self {
            tenant: MockTenant {
                _runtime: runtime,
                mock,
                now: Mutex::new(now),
            },
        }
    }

    /// Runs `f` on the tenant's state under its lock.
    pub fn tenant<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> R {
        self.tenant.mock.with_tenant(f)
    }

    /// The shared time.
    pub fn now(&self) -> OffsetDateTime {
        *self.tenant.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves the tenant's clock and every server's `--now` together.
    pub fn advance(&self, by: Duration) {
        self.tenant(|t| t.advance_clock(by));
        *self.tenant.now.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }

    /// Moves both clocks to `at` (never backwards).
    pub fn advance_to(&self, at: OffsetDateTime) {
        let by = at - self.now();
        assert!(!by.is_negative(), "the clocks would move backwards to {at}");
        self.advance(by);
    }

    /// A server with no TPM.
    pub fn server(&self) -> Server<'_> {
        self.server_with_tpm("none")
    }

    /// A server whose `--tpm` is `tpm` (a TCTI, or `none`).
    pub fn server_with_tpm(&self, tpm: &str) -> Server<'_> {
        Server {
            world: self,
            state: tempfile::tempdir().expect("a state directory"),
            tpm: tpm.to_owned(),
        }
    }
}

impl Server<'_> {
    /// Runs `adsync --json <args>` as this server, with the administrators' password.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[("ADSYNC_ADMIN_PASSWORD", PASSWORD)])
    }

    /// Runs `adsync --json <args>` with `env` set as well.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let world = &self.world.tenant;
        let now = self.world.now().format(&Rfc3339).expect("an RFC 3339 time");
        let mut command = Command::new(adsync_binary());
        command
            .args(["--authority", &world.mock.url, "--json"])
            .args(args)
            .env("ADSYNC_STATE_DIR", self.state.path())
            .env(
                "ADSYNC_CA_FILE",
                world.mock.ca_pem.as_ref().expect("the mock serves TLS"),
            )
            .env("ADSYNC_TPM", &self.tpm)
            .env("ADSYNC_NOW", now)
            .env_remove("ADSYNC_ADMIN_PASSWORD")
            .env_remove("ADSYNC_SERVICE_URL")
            .stdin(std::process::Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        Run::of(command.output().expect("run adsync"))
    }

    /// Runs a command that must succeed; returns what it printed.
    pub fn ok(&self, args: &[&str]) -> Value {
        let run = self.run(args);
        assert_eq!(
            run.code,
            Some(0),
            "adsync {args:?} failed: {}\n{}",
            run.stderr,
            run.stdout
        );
        run.json()
    }

    /// Every file of the state directory with its content: what a refused command must leave
    /// as it found it.
    pub fn files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let root = self.state.path();
        crate::files::files_under(root, |_| false)
            .into_iter()
            .map(|path| {
                let content = std::fs::read(&path).expect("a readable state file");
                (
                    path.strip_prefix(root).unwrap_or(&path).to_path_buf(),
                    content,
                )
            })
            .collect()
    }

    /// The connector's credential (`get-entra-connector-credential`).
    pub fn credential(&self) -> Value {
        self.ok(&["get-entra-connector-credential"])
    }

    /// The connector's application (client) id.
    pub fn app_id(&self) -> String {
        self.credential()["ApplicationAppId"]
            .as_str()
            .expect("the connector uses an application")
            .to_owned()
    }

    /// The SHA-256 hash of the certificate the connector uses.
    pub fn certificate(&self) -> String {
        self.credential()["Certificate"]["CertificateSHA256Hash"]
            .as_str()
            .expect("the connector has a certificate")
            .to_owned()
    }

    /// The ids of the events in the event log with id `id`.
    pub fn events(&self, id: u32) -> Vec<Value> {
        let id = id.to_string();
        self.ok(&["get-events", "--id", &id])
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// The exit code and stderr a refused command must have; returns its one line.
pub fn refused(args: &[&str], run: Run) -> String {
    assert_eq!(
        run.code,
        Some(1),
        "adsync {args:?} should have failed with exit code 1: {}\n{}",
        run.stderr,
        run.stdout
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "adsync {args:?} should print exactly one line on stderr: {:?}",
        run.stderr
    );
    let line = lines[0];
    assert!(
        line.starts_with("adsync: error: ") && line.len() > "adsync: error: ".len() + 10,
        "not a readable error line: {line:?}"
    );
    line.to_owned()
}

/// Uppercase hex SHA-256 of a certificate's DER, computed here (not by the client).
pub fn sha256_hex(der: &[u8]) -> String {
    hex_upper(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der).as_ref())
}

/// Uppercase hex SHA-1 of a certificate's DER: Windows' thumbprint, computed here.
pub fn sha1_hex(der: &[u8]) -> String {
    hex_upper(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref())
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The certificates (DER) on the application `app_id`, as the tenant has them.
pub fn tenant_certificates(world: &World, app_id: &str) -> Vec<Vec<u8>> {
    world.tenant(|t| {
        t.directory
            .applications
            .iter()
            .find(|a| a.app_id.to_string() == app_id)
            .map(|a| {
                a.key_credentials
                    .iter()
                    .filter_map(|k| k.key.clone())
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// The SHA-256 hashes of the certificates on the application `app_id`.
pub fn tenant_hashes(world: &World, app_id: &str) -> Vec<String> {
    tenant_certificates(world, app_id)
        .iter()
        .map(|der| sha256_hex(der))
        .collect()
}
