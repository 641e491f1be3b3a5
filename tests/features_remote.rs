//! The feature files against a tenant reached only by URL, as `ENTRA_HARNESS_TARGET` allows:
//! here a second mock-graph process (this binary re-run as a server), so the switch is tested
//! without the real service. Scenarios tagged `@mock-only` are left out; the rest arrange the
//! tenant through Microsoft Graph with an administrator's token, like against a real tenant.

mod harness;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The argument that makes this binary serve the mock instead of running scenarios.
const SERVE: &str = "--serve-mock-graph";

/// Kills the second mock when the run ends, however it ends.
struct SecondMock(Child);

impl Drop for SecondMock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == SERVE) {
        serve(
            args.get(i + 1)
                .map(String::as_str)
                .unwrap_or(".mock-graph-remote"),
        );
        return;
    }
    let state_dir = tempfile::tempdir().expect("a temporary state directory");
    let exe = std::env::current_exe().expect("this test binary's path");
    let mut child = Command::new(exe)
        .args([SERVE, &state_dir.path().display().to_string()])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("start the second mock");
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    stdout.read_line(&mut line).expect("the ready line");
    // Keep reading: a pipe closed under a process that still writes to it makes that
    // process's next write fail (and Rust's println! panic), which would take the tenant down
    // in the middle of the run.
    std::thread::spawn(move || {
        for extra in stdout.lines().map_while(Result::ok) {
            eprintln!("second mock: {extra}");
        }
    });
    let mock = SecondMock(child);
    let ready: serde_json::Value = serde_json::from_str(&line).expect("the ready line is JSON");
    let url = ready["url"]
        .as_str()
        .expect("ready line has url")
        .to_string();
    let ca = ready["ca_pem"]
        .as_str()
        .expect("ready line has ca_pem")
        .to_string();
    // SAFETY: set before any other thread exists (the runtime is built below).
    unsafe {
        std::env::set_var("ENTRA_HARNESS_TARGET", &url);
        std::env::set_var("ENTRA_HARNESS_CA_FILE", &ca);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let verdict = runtime.block_on(harness::runner::run());
    drop(mock);
    if let Err(e) = verdict {
        eprintln!("features_remote: FAILED: {e}");
        std::process::exit(1);
    }
}

/// `mock-graph serve --listen 127.0.0.1:0 --state-dir <dir>` with the default fixture, in this
/// process, until killed.
fn serve(state_dir: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
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
