//! Runs the harness binary in the place of this test binary: same process (so signals, the
//! exit status and the output are the harness's own), its mode, then this binary's arguments.

use std::process::Command;

/// The harness binary; cargo builds it for this package's tests.
const HARNESS: &str = env!("CARGO_BIN_EXE_entra-conformance");

pub fn harness(mode: &str) -> ! {
    let mut harness = Command::new(HARNESS);
    harness.arg(mode).args(std::env::args_os().skip(1));
    #[cfg(unix)]
    let error = std::os::unix::process::CommandExt::exec(&mut harness);
    #[cfg(not(unix))]
    let error = match harness.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(e) => e,
    };
    eprintln!("{mode}: cannot run the harness {HARNESS}: {error}");
    std::process::exit(2)
}
