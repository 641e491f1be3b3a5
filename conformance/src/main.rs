//! The conformance harness: every `features/*.feature` file, run by cucumber against in-process
//! mocks or a tenant reached by URL. It is compiled once, as this binary, and run by the thin
//! test targets `features` and `features_remote` (`cargo test --test features`); its steps are
//! part of this binary's own crate, so the linker keeps every one of them (cucumber collects
//! them with `inventory` at start-up).
//!
//! `entra-conformance features [OPTIONS]`: the scenarios against in-process mocks, or against
//! `ENTRA_HARNESS_TARGET`. `--name "<regex>"` or `--tags "<expr>"` runs a selection;
//! `--junit <file>` (or env `CUCUMBER_JUNIT=<file>`) also writes a JUnit XML report. Undefined
//! or skipped steps fail the run. A failing scenario prints the tenant's last answers from its
//! journal and saves its final state under `target/harness-snapshots/`. The run prints how many
//! scenarios it selected and left out, fails when it selected none, and with
//! `--min-scenarios N` (env `ENTRA_HARNESS_MIN_SCENARIOS`) when it selected fewer than N.
//!
//! `entra-conformance features_remote [OPTIONS]`: the same against a second mock-graph process
//! (this binary, re-run as `serve-mock-graph`) reached only by URL, as `ENTRA_HARNESS_TARGET`
//! allows: the switch is tested without the real service. That mock has the control plane, so
//! every scenario runs there, each in a tenant of its own.

mod harness;

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};

/// The argument that makes this binary serve the mock instead of running scenarios.
const SERVE: &str = "serve-mock-graph";

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let _program = args.next();
    let mode = args.next().unwrap_or_default();
    let rest: Vec<OsString> = args.collect();
    let verdict = match mode.to_str() {
        Some("features") => features(&mode, rest),
        Some("features_remote") => features_remote(&mode, rest),
        Some(SERVE) => {
            serve(
                rest.first()
                    .and_then(|d| d.to_str())
                    .unwrap_or(".mock-graph-remote"),
            );
            Ok(())
        }
        _ => Err(format!(
            "usage: entra-conformance features|features_remote [OPTIONS]  (got {mode:?})"
        )),
    };
    match verdict {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: FAILED: {e}", mode.to_string_lossy());
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The scenarios against in-process mocks, or `ENTRA_HARNESS_TARGET`.
fn features(mode: &OsString, args: Vec<OsString>) -> Result<(), String> {
    runtime().block_on(harness::runner::run(mode, args, false))
}

/// Kills the second mock when the run ends, however it ends.
struct SecondMock(Child);

impl Drop for SecondMock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The scenarios against a second mock process, reached only by URL.
fn features_remote(mode: &OsString, args: Vec<OsString>) -> Result<(), String> {
    let state_dir = tempfile::tempdir().map_err(|e| format!("a temporary state directory: {e}"))?;
    let exe = std::env::current_exe().map_err(|e| format!("this binary's path: {e}"))?;
    let mut child = Command::new(exe)
        .arg(SERVE)
        .arg(state_dir.path())
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("start the second mock: {e}"))?;
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mock = SecondMock(child);
    stdout
        .read_line(&mut line)
        .map_err(|e| format!("the second mock's ready line: {e}"))?;
    let ready: serde_json::Value =
        serde_json::from_str(&line).map_err(|e| format!("the ready line {line:?}: {e}"))?;
    let (Some(url), Some(ca)) = (ready["url"].as_str(), ready["ca_pem"].as_str()) else {
        return Err(format!("the ready line lacks url or ca_pem: {line}"));
    };
    // SAFETY: set before any other thread exists (the reader and the runtime start below).
    unsafe {
        std::env::set_var("ENTRA_HARNESS_TARGET", url);
        std::env::set_var("ENTRA_HARNESS_CA_FILE", ca);
    }
    // Keep reading: a pipe closed under a process that still writes to it makes that
    // process's next write fail (and Rust's println! panic), which would take the tenant down
    // in the middle of the run.
    std::thread::spawn(move || {
        for extra in stdout.lines().map_while(Result::ok) {
            eprintln!("second mock: {extra}");
        }
    });
    let verdict = runtime().block_on(harness::runner::run(mode, args, true));
    drop(mock);
    verdict
}

/// `mock-graph serve --listen 127.0.0.1:0 --state-dir <dir>` with the default fixture, in this
/// process, until killed.
fn serve(state_dir: &str) {
    runtime().block_on(async {
        let state = mock_graph::serve::load_state(&[]).expect("the default fixture");
        let prepared = mock_graph::serve::prepare(
            "127.0.0.1:0".parse().expect("address"),
            state_dir.as_ref(),
            true,
            state,
        )
        .await
        .expect("bind the second mock");
        println!("{}", prepared.ready_line());
        prepared.run(std::future::pending()).await.expect("serve");
    });
}
