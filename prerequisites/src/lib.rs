//! What some tests need from the machine, and what they do when it is missing.
//!
//! A plain `cargo test` on a machine that never ran `cargo xtask setup` lacks swtpm, the
//! `openssl` command (which plays an administrator's CA), the Python environment with MSAL,
//! MSAL Node, and headless Chromium with its WebDriver. The tests that need them then **skip
//! visibly**: each writes
//! one line to the terminal (past libtest's output capture) naming what is missing and the
//! command that installs it, and returns without checking anything. Skipping, rather than
//! failing, keeps the other few hundred tests useful to a developer who only changed, say,
//! the Graph rules; the lines keep the gap impossible to miss.
//!
//! `cargo xtask test` (and so CI) sets [`REQUIRE_ALL`]: there a missing prerequisite fails
//! the test with the same message, so a green CI run never hides a skipped test.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Set (to anything but `0` or empty) to turn every skip into a failure.
pub const REQUIRE_ALL: &str = "ENTRA_TESTS_REQUIRE_ALL";
/// The command that installs every prerequisite.
pub const SETUP: &str = "cargo xtask setup";

/// Whether a missing prerequisite must fail the test instead of skipping it.
pub fn required() -> bool {
    std::env::var(REQUIRE_ALL).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Reports that `test` cannot run because `what` is missing: one line on the terminal, or a
/// panic (failing the test) under [`REQUIRE_ALL`].
pub fn missing(test: &str, what: &str) {
    let reason = format!("{what} is missing; `{SETUP}` installs it");
    if required() {
        panic!("{test} cannot run: {reason} ({REQUIRE_ALL} is set: nothing may be skipped)");
    }
    // Straight to the stream: `eprintln!` inside a passing test is swallowed by libtest. The
    // leading newline keeps the line clear of libtest's progress dots.
    let _ = writeln!(std::io::stderr().lock(), "\nSKIPPED {test}: {reason}");
}

/// Whether the `swtpm` emulator can be run.
pub fn swtpm_installed() -> bool {
    Command::new("swtpm")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// For a test that needs the `openssl` command: `true` when it may run, otherwise reports the
/// skip.
pub fn openssl(test: &str) -> bool {
    let present = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        missing(test, "the openssl command");
    }
    present
}

/// For a test that needs swtpm: `true` when it may run, otherwise reports the skip.
pub fn swtpm(test: &str) -> bool {
    let present = swtpm_installed();
    if !present {
        missing(test, "swtpm (the TPM 2.0 emulator)");
    }
    present
}

/// The Python interpreter with MSAL for the interop tests: `MOCK_GRAPH_INTEROP_PYTHON`, or
/// the venv `cargo xtask setup` makes in `target/interop-venv`. `None` (after reporting the
/// skip) when there is none.
pub fn interop_python(test: &str) -> Option<PathBuf> {
    let python = std::env::var_os("MOCK_GRAPH_INTEROP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/interop-venv/bin/python")
        });
    let has_msal = Command::new(&python)
        .args(["-c", "import msal"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if has_msal {
        Some(python)
    } else {
        missing(
            test,
            &format!(
                "a Python with MSAL ({}; or set MOCK_GRAPH_INTEROP_PYTHON)",
                python.display()
            ),
        );
        None
    }
}

/// What the MSAL Node interop test runs: a Node.js of at least `MIN_NODE_MAJOR`, and the
/// `node_modules` directory holding `@azure/msal-node`.
#[derive(Clone, Debug)]
pub struct InteropNode {
    pub node: PathBuf,
    pub node_modules: PathBuf,
}

/// msal-node 7 needs Node.js 20 (its `engines`).
pub const MIN_NODE_MAJOR: u32 = 20;

/// Node.js and `@azure/msal-node` for the interop test: `MOCK_GRAPH_INTEROP_NODE` (else `node`
/// on PATH) and `MOCK_GRAPH_INTEROP_NODE_MODULES` (else `target/interop-node/node_modules`,
/// where `cargo xtask setup` installs msal-node). `None` (after reporting the skip) when either
/// is missing.
pub fn interop_node(test: &str) -> Option<InteropNode> {
    let node = std::env::var_os("MOCK_GRAPH_INTEROP_NODE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("node"));
    let version = Command::new(&node)
        .arg("--version")
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let major = version.as_deref().and_then(|v| {
        v.trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
    });
    if major.is_none_or(|m| m < MIN_NODE_MAJOR) {
        let found = version.map_or_else(|| "none found".to_string(), |v| format!("found {v}"));
        missing(
            test,
            &format!(
                "Node.js {MIN_NODE_MAJOR} or later ({}: {found}; or set MOCK_GRAPH_INTEROP_NODE)",
                node.display()
            ),
        );
        return None;
    }
    let node_modules = std::env::var_os("MOCK_GRAPH_INTEROP_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/interop-node/node_modules")
        });
    if !node_modules.join("@azure/msal-node/package.json").is_file() {
        missing(
            test,
            &format!(
                "@azure/msal-node (in {}; or set MOCK_GRAPH_INTEROP_NODE_MODULES)",
                node_modules.display()
            ),
        );
        return None;
    }
    Some(InteropNode { node, node_modules })
}

/// Debian's Chromium and its WebDriver (packages `chromium` and `chromium-driver`), for the
/// tests that drive the inspector page in a real browser.
#[derive(Clone, Debug)]
pub struct Chromium {
    /// The browser (`/usr/bin/chromium`, a wrapper script, which is what chromedriver wants).
    pub browser: PathBuf,
    /// `chromedriver`, the W3C WebDriver server for it.
    pub driver: PathBuf,
}

/// For a test that needs a real browser: Chromium and chromedriver, or `None` after reporting
/// the skip. `MOCK_GRAPH_CHROMIUM` and `MOCK_GRAPH_CHROMEDRIVER` name other binaries.
pub fn chromium(test: &str) -> Option<Chromium> {
    let named = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(default))
    };
    let found = Chromium {
        browser: named("MOCK_GRAPH_CHROMIUM", "/usr/bin/chromium"),
        driver: named("MOCK_GRAPH_CHROMEDRIVER", "/usr/bin/chromedriver"),
    };
    let driver_runs = Command::new(&found.driver)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if driver_runs && found.browser.is_file() {
        Some(found)
    } else {
        missing(
            test,
            &format!(
                "headless Chromium and its WebDriver ({} and {}; Debian's packages chromium and chromium-driver)",
                found.browser.display(),
                found.driver.display()
            ),
        );
        None
    }
}
