//! The harness behind the feature files: the World (one per scenario), the tenant it talks to
//! (`target`), the scenario's sync server (`scenario_server`), the step library, and the runner
//! both modes of the binary share.

pub mod runner;
pub mod scenario_server;
pub mod steps;
pub mod target;
pub mod world;

use std::path::{Path, PathBuf};

/// The repository's root, where `features/`, `fixtures/` and `target/` are.
pub fn repository_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the package is a directory of the repository")
}

/// `path` as given when absolute; otherwise taken from the repository's root, where the
/// README's commands run (cargo runs the test binaries in the package's directory).
pub fn from_root(path: impl AsRef<Path>) -> PathBuf {
    repository_root().join(path)
}
