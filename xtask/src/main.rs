//! `cargo xtask test`: makes a fresh Debian machine with only Rust able to run every test, then
//! runs them. It installs what is missing and nothing else:
//! - the apt packages swtpm, swtpm-tools, libtss2-dev and pkg-config (TPM tests, tss-esapi),
//!   openssl (the command plays an administrator's CA in the import tests), and
//!   chromium and chromium-driver (the inspector page's tests drive a real browser);
//! - a Python virtual environment with `msal` under `target/interop-venv` (the interop test
//!   runs Microsoft's own client against the mock);
//! - `@azure/msal-node` under `target/interop-node` (the MSAL Node interop test), with npm, and
//!   the apt packages nodejs and npm when there is no `npm`;
//!
//! then `cargo test --workspace` with `ENTRA_TESTS_REQUIRE_ALL=1` (a test whose prerequisite is
//! missing fails instead of skipping), passing on any arguments after `--`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const APT_PACKAGES: &[&str] = &[
    "swtpm",
    "swtpm-tools",
    "libtss2-dev",
    "pkg-config",
    "openssl",
    "chromium",
    "chromium-driver",
];
/// The Python packages of the interop tests, pinned to a major version.
const PYTHON_PACKAGES: &[&str] = &["msal>=1.31,<2"];
/// The npm packages of the MSAL Node interop test, pinned to a major version.
const NODE_PACKAGES: &[&str] = &["@azure/msal-node@^7"];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("setup") => setup().map(drop),
        _ => Err(format!(
            "usage: cargo xtask test [-- <cargo test args>]\n       cargo xtask setup   (install prerequisites only)\n(got {args:?})"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn test(extra: &[String]) -> Result<(), String> {
    let (python, node_modules) = setup()?;
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let extra: Vec<&String> = extra.iter().skip_while(|a| *a == "--").collect();
    eprintln!(
        "xtask: cargo test --workspace {}",
        extra
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["test", "--workspace"])
        .args(extra)
        .env("MOCK_GRAPH_INTEROP_PYTHON", &python)
        .env("MOCK_GRAPH_INTEROP_NODE_MODULES", &node_modules)
        // Everything is installed now: a test that would skip for a missing prerequisite
        // fails instead, so a green run never hides one.
        .env("ENTRA_TESTS_REQUIRE_ALL", "1")
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo test failed ({status})"))
    }
}

/// Installs what is missing; returns the interop Python interpreter and the interop
/// `node_modules`.
fn setup() -> Result<(PathBuf, PathBuf), String> {
    ensure_apt_packages()?;
    Ok((ensure_python_venv()?, ensure_node_modules()?))
}

/// `@azure/msal-node` under `target/interop-node/node_modules` (npm from apt when missing);
/// returns that directory. Whether the Node.js is recent enough is the test's to say
/// (`prerequisites::interop_node`).
fn ensure_node_modules() -> Result<PathBuf, String> {
    let prefix = workspace_root().join("target").join("interop-node");
    let modules = prefix.join("node_modules");
    if modules.join("@azure/msal-node/package.json").is_file() {
        return Ok(modules);
    }
    if !have("npm") {
        apt_install(&["nodejs", "npm"])?;
    }
    eprintln!(
        "xtask: installing {} into {}",
        NODE_PACKAGES.join(" "),
        prefix.display()
    );
    std::fs::create_dir_all(&prefix).map_err(|e| format!("{}: {e}", prefix.display()))?;
    let prefix_str = prefix.display().to_string();
    let mut npm = vec![
        "npm",
        "install",
        "--prefix",
        prefix_str.as_str(),
        "--no-audit",
        "--no-fund",
        "--no-save",
        "--loglevel=error",
    ];
    npm.extend_from_slice(NODE_PACKAGES);
    run(&[], &npm)?;
    if modules.join("@azure/msal-node/package.json").is_file() {
        Ok(modules)
    } else {
        Err("@azure/msal-node did not install into target/interop-node".into())
    }
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

fn apt_packages_present() -> bool {
    have("swtpm")
        && have("swtpm_setup")
        && have("pkg-config")
        && have("openssl")
        && have("chromium")
        && have("chromedriver")
        && Command::new("pkg-config")
            .args(["--exists", "tss2-esys"])
            .status()
            .is_ok_and(|s| s.success())
}

fn ensure_apt_packages() -> Result<(), String> {
    if apt_packages_present() {
        return Ok(());
    }
    if !have("apt-get") {
        return Err(format!(
            "missing system packages and no apt-get to install them: install {} yourself",
            APT_PACKAGES.join(" ")
        ));
    }
    apt_install(APT_PACKAGES)?;
    if apt_packages_present() {
        Ok(())
    } else {
        Err("the apt packages installed but swtpm, tss2-esys or chromium is still missing".into())
    }
}

/// `apt-get install`s `packages` (through sudo unless root), updating the package lists first:
/// a fresh machine has none.
fn apt_install(packages: &[&str]) -> Result<(), String> {
    let sudo: &[&str] = if is_root() { &[] } else { &["sudo"] };
    eprintln!("xtask: installing {}", packages.join(" "));
    run(sudo, &["apt-get", "update", "-qq"])?;
    let mut install = vec![
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
    ];
    install.extend_from_slice(packages);
    run(sudo, &install)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn run(prefix: &[&str], cmd: &[&str]) -> Result<(), String> {
    let all: Vec<&str> = prefix.iter().chain(cmd.iter()).copied().collect();
    let status = Command::new(all[0])
        .args(&all[1..])
        .status()
        .map_err(|e| format!("cannot run {}: {e}", all.join(" ")))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", all.join(" ")))
    }
}

fn ensure_python_venv() -> Result<PathBuf, String> {
    let venv = workspace_root().join("target").join("interop-venv");
    let python = venv.join("bin").join("python");
    let has_msal = |p: &Path| {
        Command::new(p)
            .args(["-c", "import msal"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.exists() && has_msal(&python) {
        return Ok(python);
    }
    let system_python = ["python3", "python"]
        .into_iter()
        .find(|p| have(p))
        .ok_or("no python3 on PATH")?;
    eprintln!(
        "xtask: creating {} with {}",
        venv.display(),
        PYTHON_PACKAGES.join(" ")
    );
    let venv_str = venv.display().to_string();
    if run(&[], &[system_python, "-m", "venv", "--clear", &venv_str]).is_err() {
        // Debian's own python3 needs python3-venv for `-m venv`.
        apt_install(&["python3-venv"])?;
        run(&[], &[system_python, "-m", "venv", "--clear", &venv_str])?;
    }
    let python_str = python.display().to_string();
    let mut pip = vec![
        python_str.as_str(),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ];
    pip.extend_from_slice(PYTHON_PACKAGES);
    run(&[], &pip)?;
    if has_msal(&python) {
        Ok(python)
    } else {
        Err("msal did not install into the interop venv".into())
    }
}
